"""Traces and the one-pass inputs built from them."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hone.errors import ConfigError
from hone.threads import ThreadTrace, attention_bias, token_logprobs, trace_batch


@st.composite
def traces(draw: st.DrawFn) -> ThreadTrace:
    n = draw(st.integers(1, 12))
    hidden: list[int | None] = []
    for i in range(n):
        hidden.append(draw(st.one_of(st.none(), st.integers(i + 1, n + 2))))
    kinds = draw(st.lists(st.sampled_from(["prompt", "model", "forced"]), min_size=n, max_size=n))
    return ThreadTrace(
        token_ids=tuple(range(1, n + 1)),
        kinds=tuple(kinds),
        logprobs=tuple(-0.5 if k == "model" else None for k in kinds),
        positions=tuple(range(n)),
        hidden_from=tuple(hidden),
    )


@given(st.lists(traces(), min_size=1, max_size=3))
@settings(max_examples=60, deadline=None)
def test_the_mask_is_the_trace_visibility(batch: list[ThreadTrace]) -> None:
    inputs = trace_batch(batch, pad_id=0)
    width = max(len(t) for t in batch)
    assert inputs.attention_mask.shape == (len(batch), 1, width, width)
    for r, trace in enumerate(batch):
        mask = inputs.attention_mask[r, 0]
        for q in range(width):
            for k in range(width):
                if q < len(trace) and k < len(trace):
                    assert bool(mask[q, k]) == trace.sees(q, k)
                else:  # padding: a padding query sees only itself; nobody sees padding
                    assert bool(mask[q, k]) == (q == k and q >= len(trace))
        assert inputs.model_mask[r, : len(trace)].tolist() == [k == "model" for k in trace.kinds]
        assert trace.visible_at(len(trace) - 1) == [
            k for k in range(len(trace)) if trace.sees(len(trace) - 1, k)
        ]
    assert ThreadTrace.from_dict(batch[0].to_dict()) == batch[0]


def test_bias_and_logprobs() -> None:
    mask = torch.tensor([[[[True, False], [True, True]]]])
    eager = type("M", (), {"config": type("C", (), {"_attn_implementation": "eager"})()})()
    eager.parameters = lambda: iter([torch.zeros(1, dtype=torch.float64)])  # type: ignore[attr-defined]
    bias = attention_bias(mask, eager)
    assert bias.dtype == torch.float64 and bias[0, 0, 0, 1] == torch.finfo(torch.float64).min
    assert bias[0, 0, 1, 0] == 0
    logits = torch.log(torch.tensor([[[0.5, 0.5], [0.25, 0.75]]]))
    out = token_logprobs(logits, torch.tensor([[0, 1]]))
    assert (
        out.shape == (1, 2)
        and out[0, 0] == 0
        and abs(float(out[0, 1]) - float(torch.log(torch.tensor(0.5)))) < 1e-6
    )


def test_bad_traces_are_refused() -> None:
    with pytest.raises(ConfigError):
        ThreadTrace(
            token_ids=(1, 2),
            kinds=("prompt",),
            logprobs=(None,),
            positions=(0,),
            hidden_from=(None,),
        )
    with pytest.raises(ConfigError):
        ThreadTrace.from_dict({"token_ids": [1]})
    with pytest.raises(ConfigError):
        trace_batch([])
