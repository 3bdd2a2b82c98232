"""Threads trained by ``hone.train``'s trainer: a pruned episode is one sample whose one-pass
loss equals the loss of what decoding computed call by call on the pruned KV cache."""

from __future__ import annotations

import copy
import dataclasses
import math

import pytest
import torch

from hone.errors import ConfigError, TrainingConfigError
from hone.models import SamplingOptions, TransformersModel
from hone.threads import (
    LookupSuite,
    PruneRule,
    TeacherForcedModel,
    ThreadOptions,
    ThreadResult,
    ThreadStats,
    ThreadTrace,
    result_samples,
    run_flat,
    run_threads,
    trace_sample,
)
from hone.train import TokenVisibility, Trainer, TrainerConfig, TrainingSample, collate


def _teacher_results(
    model: TransformersModel, episodes: int
) -> tuple[LookupSuite, list[ThreadResult]]:
    suite = LookupSuite(episodes, lookups=(3, 5), group_size=2, seed=7)
    options = ThreadOptions(prune=PruneRule(1), compact_after=8)
    results = run_threads(
        model, suite.questions, suite.tools(), options=options, teacher=suite.tree_teacher()
    )
    assert [r.stop for r in results] == ["answer"] * episodes
    return suite, results


def _trainer(model: TransformersModel, **config: object) -> Trainer:
    settings = TrainerConfig(lr=1e-3, micro_batch_size=2, seed=0, **config)  # type: ignore[arg-type]
    return Trainer(copy.deepcopy(model.model), model.tokenizer, config=settings)


def test_one_pass_loss_equals_the_per_call_recomputation(tiny64: TransformersModel) -> None:
    """Decoding recorded each model token's logprob on the pruned, compacted cache (one
    step at a time); the trainer's one forward pass over the sample gives the same numbers,
    so the same loss. Without the visibility (plain causal attention) it does not."""
    _, results = _teacher_results(tiny64, 2)
    samples = [s for r in results for s in result_samples(r)]
    assert len(samples) == 2 and all(s.visibility is not None for s in samples)
    assert any(h is not None for s in samples for h in s.visibility.hidden_from)  # type: ignore[union-attr]
    trainer = _trainer(tiny64)
    scored = trainer.compute_logprobs(samples)
    for sample, row in zip(samples, scored, strict=True):
        learned = [i for i, m in enumerate(sample.loss_mask) if m]
        recorded = [sample.old_logprobs[i] for i in learned]  # type: ignore[index]
        assert max(abs(row[i] - v) for i, v in zip(learned, recorded, strict=True)) < 1e-9
    # The SFT loss (token mean over both episodes) of the one pass is the recorded one's.
    recorded_nll = -sum(sum(s.old_logprobs or []) for s in samples) / sum(
        s.num_loss_tokens for s in samples
    )
    metrics = trainer.sft_step(samples)
    assert metrics.loss == pytest.approx(recorded_nll, rel=1e-9, abs=1e-9)
    # The same tokens scored causally (the pruned spans visible, positions renumbered) differ.
    causal = [dataclasses.replace(s, visibility=None) for s in samples]
    plain = _trainer(tiny64).compute_logprobs(causal)
    gap = max(
        abs(a - b)
        for s, row, ref in zip(samples, plain, scored, strict=True)
        for a, b, m in zip(row, ref, s.loss_mask, strict=True)
        if m
    )
    assert gap > 1e-3


def test_visibility_rows_and_causal_rows_share_a_batch(tiny: TransformersModel) -> None:
    _, results = _teacher_results(tiny, 1)
    pruned = result_samples(results[0])[0]
    ordinary = TrainingSample(input_ids=[5, 6, 7, 8, 9], loss_mask=[False, True, True, True, True])
    trainer = _trainer(tiny)
    alone = trainer.compute_logprobs([ordinary])[0]
    together = trainer.compute_logprobs([pruned, ordinary])
    assert together[1] == pytest.approx(alone, abs=1e-5)
    assert together[0] == pytest.approx(trainer.compute_logprobs([pruned])[0], abs=1e-5)
    batch = collate([ordinary])  # the ordinary path builds no 4-D mask
    assert batch.visibility is None and batch.position_ids is None


def test_sft_then_rl_steps_on_traces(tiny: TransformersModel) -> None:
    """SFT on the teacher's threads lowers their loss; sampled threads (grammar-constrained,
    pruned) become RL samples whose recorded logprobs are the trainer's before the update."""
    suite, results = _teacher_results(tiny, 2)
    trainer = _trainer(tiny)
    samples = [s for r in results for s in result_samples(r)]
    losses = [trainer.sft_step(samples).loss for _ in range(4)]
    assert losses[-1] < losses[0]
    policy = TransformersModel(trainer.model, tiny.tokenizer, prefix_cache_tokens=0)
    options = ThreadOptions(
        prune=PruneRule(1), sampling=SamplingOptions(temperature=1.0, max_tokens=120, seed=3)
    )
    sampled = run_threads(policy, suite.questions, suite.tools(), options=options)
    rewards = [1.0, 0.0]
    rl = [
        s
        for r, reward in zip(sampled, rewards, strict=True)
        for s in result_samples(r, advantage=reward - 0.5, group_id="g")
    ]
    assert all(s.visibility is not None and s.num_loss_tokens > 0 for s in rl)
    metrics = trainer.train_step(rl)
    assert math.isfinite(metrics.loss) and metrics.grad_norm > 0
    assert metrics.loss_metrics.ratio_mean == pytest.approx(1.0, abs=1e-3)


def test_flat_and_per_call_episodes_are_ordinary_samples(tiny: TransformersModel) -> None:
    suite = LookupSuite(1, lookups=(2, 2), group_size=2, seed=1)
    flat = run_flat(TeacherForcedModel(tiny, suite.flat_teacher()), suite.questions, suite.tools())
    samples = result_samples(flat[0], advantage=1.0)
    assert samples and all(s.visibility is None for s in samples)
    assert sum(s.num_loss_tokens for s in samples) == flat[0].stats.model_tokens
    options = ThreadOptions(runtime="per_call")
    per_call = run_threads(
        tiny, suite.questions, suite.tools(), options=options, teacher=suite.tree_teacher()
    )[0]
    assert per_call.trace is None and per_call.completions
    assert len(result_samples(per_call)) >= 1


def test_bad_input_is_refused() -> None:
    with pytest.raises(TrainingConfigError, match="see itself"):
        TokenVisibility(positions=(0, 1), hidden_from=(0, None))
    with pytest.raises(TrainingConfigError, match="positions"):
        TokenVisibility(positions=(0,), hidden_from=(None, None))
    with pytest.raises(TrainingConfigError, match="visibility has 1 entries for 2"):
        TrainingSample(
            input_ids=[1, 2],
            loss_mask=[False, True],
            visibility=TokenVisibility(positions=(0,), hidden_from=(None,)),
        )
    empty = ThreadResult(
        thread=None, text="", stop="length", detail="", errors=(), tool_calls=0,
        stats=ThreadStats(),
    )  # fmt: skip
    with pytest.raises(ConfigError, match="no trace"):
        result_samples(empty)


def test_a_trace_without_model_tokens_is_refused() -> None:
    trace = ThreadTrace((1, 2), ("prompt", "forced"), (None, None), (0, 1), (None, None))
    with pytest.raises(ConfigError, match="nothing to train on"):
        trace_sample(trace)
    assert torch.is_tensor(collate([TrainingSample([1, 2], [False, True])]).inputs)
