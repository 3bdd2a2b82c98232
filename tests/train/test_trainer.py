"""The Trainer: micro-batch invariance, checkpoint/resume, LoRA, saving, logprobs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from transformers import Qwen2ForCausalLM

from hone.errors import TrainingConfigError
from hone.train import (
    LoraConfig,
    LRSchedule,
    Trainer,
    TrainerConfig,
    TrainingSample,
    TrainStepMetrics,
    collate,
    policy_loss,
)

ModelFactory = Callable[..., Qwen2ForCausalLM]
SampleFactory = Callable[..., list[TrainingSample]]


def _params(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def _step_params(
    make_model: ModelFactory,
    samples: list[TrainingSample],
    *,
    micro: int,
    dtype: torch.dtype,
    mode: str = "rl",
    **config: object,
) -> tuple[dict[str, torch.Tensor], TrainStepMetrics]:
    model = make_model(dtype)
    cfg = TrainerConfig(
        optimizer="sgd", lr=0.5, max_grad_norm=None, micro_batch_size=micro, **config
    )  # type: ignore[arg-type]
    trainer = Trainer(model, config=cfg)
    step = trainer.sft_step if mode == "sft" else trainer.train_step
    metrics = step(samples)
    return _params(trainer.model), metrics


@pytest.mark.parametrize(
    ("mode", "loss_type"),
    [
        ("rl", "grpo"),
        ("rl", "dapo"),
        ("rl", "bnpo"),
        ("rl", "dr_grpo"),
        ("rl", "gspo"),
        ("rl", "cispo"),
        ("sft", "dapo"),
    ],
)
def test_micro_batch_1x8_equals_8x1(
    mode: str, loss_type: str, make_model: ModelFactory, make_samples: SampleFactory
) -> None:
    samples8 = make_samples(8)
    before = _params(make_model(torch.float64))
    one, m1 = _step_params(
        make_model, samples8, micro=1, dtype=torch.float64, mode=mode, loss_type=loss_type
    )
    eight, m8 = _step_params(
        make_model, samples8, micro=8, dtype=torch.float64, mode=mode, loss_type=loss_type
    )
    assert m1.loss == pytest.approx(m8.loss, abs=1e-9)
    moved = max((eight[n] - before[n]).abs().max().item() for n in before)
    assert moved > 1e-4  # the step really changed the model
    for name in before:
        torch.testing.assert_close(one[name], eight[name], atol=1e-6, rtol=0)


def test_micro_batch_invariance_float32_with_kl(
    make_model: ModelFactory, make_samples: SampleFactory
) -> None:
    samples8 = make_samples(8)
    one, _ = _step_params(
        make_model, samples8, micro=1, dtype=torch.float32, loss_type="dapo", beta=0.1
    )
    three, _ = _step_params(
        make_model, samples8, micro=3, dtype=torch.float32, loss_type="dapo", beta=0.1
    )
    for name in one:
        torch.testing.assert_close(one[name], three[name], atol=1e-5, rtol=0)


def test_step_loss_equals_full_batch_policy_loss(
    make_model: ModelFactory, make_samples: SampleFactory
) -> None:
    samples8 = make_samples(8)
    trainer = Trainer(make_model(), config=TrainerConfig(loss_type="bnpo", micro_batch_size=3))
    batch = collate(samples8, dtype=torch.float64)
    with torch.no_grad():
        logits = trainer.model(input_ids=batch.inputs, attention_mask=batch.attention_mask).logits
        logp = torch.log_softmax(logits, -1).gather(-1, batch.targets.unsqueeze(-1)).squeeze(-1)
    expected, _ = policy_loss(
        logp, batch.old_logprobs, batch.advantages, batch.mask, loss_type="bnpo"
    )
    metrics = trainer.train_step(samples8)
    assert metrics.loss == pytest.approx(expected.item(), abs=1e-9)
    assert metrics.num_tokens == sum(s.num_loss_tokens for s in samples8)
    clip_region = metrics.loss_metrics.clip_region
    assert metrics.step == 1 and clip_region is not None and 0.0 <= clip_region <= 1.0


def test_on_policy_without_old_logprobs_has_ratio_one(
    make_model: ModelFactory, make_samples: SampleFactory
) -> None:
    samples = make_samples(4, with_old=False)
    trainer = Trainer(make_model(), config=TrainerConfig(loss_type="grpo", micro_batch_size=2))
    metrics = trainer.train_step(samples)
    assert metrics.loss_metrics.ratio_mean == pytest.approx(1.0)
    assert metrics.loss_metrics.clip_region == 0.0


def test_compute_logprobs_are_aligned_and_make_ratio_one(
    make_model: ModelFactory, make_samples: SampleFactory
) -> None:
    samples = make_samples(3, with_old=False)
    trainer = Trainer(make_model(), config=TrainerConfig(micro_batch_size=2))
    logprobs = trainer.compute_logprobs(samples)
    for sample, row in zip(samples, logprobs, strict=True):
        assert len(row) == len(sample.input_ids)
        assert all((v == 0.0) != m for v, m in zip(row, sample.loss_mask, strict=True))
    with_old = [
        TrainingSample(s.input_ids, s.loss_mask, old_logprobs=row, advantage=s.advantage)
        for s, row in zip(samples, logprobs, strict=True)
    ]
    assert trainer.train_step(with_old).loss_metrics.ratio_mean == pytest.approx(1.0, abs=1e-9)


def _run(steps: range, trainer: Trainer, make_samples: SampleFactory) -> None:
    for step in steps:
        trainer.train_step(make_samples(4, seed=100 + step))


def test_checkpoint_resume_matches_uninterrupted_run(
    tmp_path: Path, make_model: ModelFactory, make_samples: SampleFactory
) -> None:
    config = TrainerConfig(lr=1e-2, micro_batch_size=2, lora=LoraConfig(r=4, dropout=0.2), seed=7)
    straight = Trainer(make_model(), config=config)
    _run(range(3), straight, make_samples)

    first = Trainer(make_model(), config=config)
    _run(range(1), first, make_samples)
    first.save_checkpoint(tmp_path / "ckpt")
    _run(range(1, 2), first, make_samples)  # keeps training; the resumed run must not see this

    resumed = Trainer(make_model(), config=config)
    resumed.load_checkpoint(tmp_path / "ckpt")
    assert resumed.step == 1
    _run(range(1, 3), resumed, make_samples)
    expected, got = _params(straight.model), _params(resumed.model)
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], atol=0, rtol=0)


def test_load_checkpoint_errors(tmp_path: Path, make_model: ModelFactory) -> None:
    trainer = Trainer(make_model(), config=TrainerConfig(lora=LoraConfig(r=4)))
    with pytest.raises(TrainingConfigError, match="no trainer checkpoint"):
        trainer.load_checkpoint(tmp_path)
    trainer.save_checkpoint(tmp_path)
    full = Trainer(make_model(), config=TrainerConfig())
    with pytest.raises(TrainingConfigError, match="do not match"):
        full.load_checkpoint(tmp_path)


def test_lora_trains_only_adapters_and_saves_a_merged_model(
    tmp_path: Path, make_model: ModelFactory, make_samples: SampleFactory
) -> None:
    base_before = _params(make_model())
    trainer = Trainer(
        make_model(),
        config=TrainerConfig(lr=1e-2, lora=LoraConfig(r=4), beta=0.05, micro_batch_size=4),
    )
    trainable = {n for n, p in trainer.model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    metrics = trainer.train_step(make_samples(4))
    assert metrics.loss_metrics.kl == pytest.approx(0.0, abs=1e-12)  # adapters: the identity
    trainer.train_step(make_samples(4, seed=1))
    after = _params(trainer.model)
    for name, value in after.items():
        if "lora_" not in name:
            original = name.replace("base_model.model.", "").replace(".base_layer", "")
            torch.testing.assert_close(value, base_before[original], atol=0, rtol=0)
    assert any(after[n].abs().max() > 0 for n in trainable if "lora_B" in n)

    trainer.save_model(tmp_path / "merged")
    loaded = Qwen2ForCausalLM.from_pretrained(tmp_path / "merged", dtype=torch.float64)
    assert not any("lora" in n for n, _ in loaded.named_parameters())
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    trainer.model.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids).logits, trainer.model(ids).logits, atol=1e-8, rtol=0)


def test_full_finetune_with_kl_uses_a_frozen_reference(
    make_model: ModelFactory, make_samples: SampleFactory
) -> None:
    trainer = Trainer(make_model(), config=TrainerConfig(lr=1e-2, beta=0.1, micro_batch_size=4))
    assert trainer.ref_model is not None
    first = trainer.train_step(make_samples(4))
    second = trainer.train_step(make_samples(4))
    assert first.loss_metrics.kl == pytest.approx(0.0, abs=1e-12)
    assert (second.loss_metrics.kl or 0.0) > 0.0
    assert all(not p.requires_grad for p in trainer.ref_model.parameters())


def test_train_step_errors(make_model: ModelFactory, make_samples: SampleFactory) -> None:
    trainer = Trainer(make_model(), config=TrainerConfig(micro_batch_size=2))
    with pytest.raises(TrainingConfigError, match="no samples"):
        trainer.train_step([])
    unmasked = TrainingSample([1, 2, 3], [False, False, False])
    with pytest.raises(TrainingConfigError, match="no sample has a loss_mask token"):
        trainer.sft_step([unmasked])


def test_the_schedule_sets_every_steps_lr(
    make_model: ModelFactory, make_samples: SampleFactory
) -> None:
    schedule = LRSchedule(kind="cosine", warmup_steps=2, min_lr_ratio=0.1)
    trainer = Trainer(make_model(), config=TrainerConfig(lr=0.01, schedule=schedule))
    with pytest.raises(TrainingConfigError, match="needs its length"):
        trainer.train_step(make_samples(2))
    assert trainer.step == 0  # refused before any compute
    trainer.total_steps = 4
    used = [trainer.sft_step(make_samples(2, seed=i)).lr for i in range(5)]
    expected = [schedule.lr_at(0.01, step, 4) for step in range(5)]
    assert used == expected
    assert used[0] == pytest.approx(0.005) and used[1] == pytest.approx(
        0.01 * (0.1 + 0.9 * 0.8535533905932737)
    )
    assert used[4] == pytest.approx(0.001)  # past the end: stays at min_lr_ratio
    assert all(g["lr"] == used[-1] for g in trainer.optimizer.param_groups)


def test_weights_round_trip_and_saving_needs_a_path(
    tmp_path: Path, make_model: ModelFactory, make_samples: SampleFactory
) -> None:
    trainer = Trainer(make_model(), config=TrainerConfig(lr=1e-2, micro_batch_size=2))
    before = trainer.weights()
    trainer.train_step(make_samples(2))
    changed = _params(trainer.model)
    assert any(not torch.equal(changed[n], before[n]) for n in before)
    trainer.load_weights(before)
    for name, value in _params(trainer.model).items():
        torch.testing.assert_close(value, before[name], atol=0, rtol=0)
    with pytest.raises(TrainingConfigError, match="do not match"):
        trainer.load_weights({"nope": torch.zeros(1)})
    assert trainer.save_checkpoint(tmp_path / "ckpt") == tmp_path / "ckpt"
    assert (trainer.save_model(tmp_path / "model") / "config.json").is_file()


def test_steps_and_logprobs_run_on_the_compute_thread(
    make_model: ModelFactory, make_samples: SampleFactory
) -> None:
    """Training shares one OS thread with local generation (see hone._compute)."""
    model = make_model()
    seen: set[str] = set()
    model.register_forward_hook(lambda *_: seen.add(threading.current_thread().name))
    trainer = Trainer(model, config=TrainerConfig(micro_batch_size=2))
    samples = make_samples(2, with_old=False)
    trainer.compute_logprobs(samples)
    trainer.train_step(samples)
    Trainer(model, config=TrainerConfig(micro_batch_size=2)).sft_step(samples)
    assert len(seen) == 1 and next(iter(seen)).startswith("hone-compute")
