"""Decoding on a pruned (and compacted) KV cache equals the exact oracle: one forward pass over
the whole episode with the recorded visibility and original positions.

Every model token's logprob recorded at decoding is compared with the same token's logprob
in that one pass, in float32 and float64, with and without physical compaction, for one
episode and for a batch. Re-encoding the pruned text instead does *not* match: tokens written
before a prune still carry the pruned span in their keys and values.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hone.models import TransformersModel
from hone.threads import (
    LookupSuite,
    PruneRule,
    ThreadOptions,
    ThreadResult,
    run_threads,
    score_traces,
)
from hone.threads._kv import PrunableCache

from .conftest import load

TOLERANCE = {torch.float32: 1e-4, torch.float64: 1e-9}


def _run(model: TransformersModel, episodes: int, compact_after: int | None) -> list[ThreadResult]:
    suite = LookupSuite(episodes, lookups=(3, 5), group_size=2, seed=episodes)
    options = ThreadOptions(prune=PruneRule(1), compact_after=compact_after)
    results = run_threads(
        model, suite.questions, suite.tools(), options=options, teacher=suite.tree_teacher()
    )
    assert [r.stop for r in results] == ["answer"] * episodes
    assert all(suite.check([r.answer for r in results]))
    return results


def _max_error(model: TransformersModel, results: list[ThreadResult]) -> float:
    traces = [r.trace for r in results if r.trace is not None]
    scored = score_traces(model.model, traces, pad_id=model.special_ids.pad)
    worst = 0.0
    for trace, one_pass in zip(traces, scored, strict=True):
        recorded = [v for v, k in zip(trace.logprobs, trace.kinds, strict=True) if k == "model"]
        assert len(recorded) == len(one_pass) > 0
        worst = max(worst, max(abs(a - b) for a, b in zip(recorded, one_pass, strict=True)))
    return worst


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("compact_after", [None, 8], ids=["masked", "compacted"])
@pytest.mark.parametrize("episodes", [1, 3], ids=["single", "batch"])
def test_pruned_decoding_matches_one_forward_pass(
    tiny_dir: Path,
    tiny: TransformersModel,
    tiny64: TransformersModel,
    dtype: torch.dtype,
    compact_after: int | None,
    episodes: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = tiny if dtype == torch.float32 else tiny64
    freed: list[int] = []
    compact = PrunableCache.compact

    def counting(cache: PrunableCache) -> int:
        freed.append(compact(cache))
        return freed[-1]

    monkeypatch.setattr(PrunableCache, "compact", counting)
    results = _run(model, episodes, compact_after)
    for result in results:
        assert result.trace is not None
        assert any(h is not None for h in result.trace.hidden_from)  # pruning happened
    assert (sum(freed) > 0) == (compact_after is not None)
    assert _max_error(model, results) < TOLERANCE[dtype]


def test_eager_attention_takes_the_float_mask(tiny_dir: Path) -> None:
    model = load(tiny_dir, torch.float64, attention="eager")
    # transformers' eager attention takes its softmax in float32, even for a float64 model.
    assert _max_error(model, _run(model, 2, compact_after=8)) < 1e-5


def test_re_encoding_the_pruned_text_is_not_the_oracle(tiny64: TransformersModel) -> None:
    result = _run(tiny64, 1, compact_after=8)[0]
    trace = result.trace
    assert trace is not None
    first_prune = min(h for h in trace.hidden_from if h is not None)
    # The first model token after the prune, and what the token before it could see.
    j = next(i for i in range(first_prune + 1, len(trace)) if trace.kinds[i] == "model")
    visible = trace.visible_at(j - 1)
    assert len(visible) < j  # pruned tokens are missing
    ids = torch.tensor([[trace.token_ids[i] for i in visible]])
    recorded = trace.logprobs[j]
    assert recorded is not None
    for positions in (torch.arange(len(visible))[None], torch.tensor([visible])):
        with torch.no_grad():
            logits = tiny64.model(input_ids=ids, position_ids=positions).logits[0, -1]
        re_encoded = float(torch.log_softmax(logits, dim=-1)[trace.token_ids[j]])
        assert abs(re_encoded - recorded) > 1e-6  # the oracle matches to 1e-9
