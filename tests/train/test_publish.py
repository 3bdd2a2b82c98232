"""Policy publishers: the LoRA publisher against ``hone serve`` (served replies equal the
trainer's own model), its failures (a refused adapter, a timeout: precise errors, the old
version stays live, the server is resumed), and the full-weights publisher's HTTP flow
against a fake vLLM."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hone.errors import ConfigError, PublishError, TrainingConfigError
from hone.models import OpenAICompatibleModel, SamplingOptions, make_request
from hone.models._transformers import TransformersModel
from hone.serve import AdapterPool, create_app, running_server
from hone.train import (
    LoraConfig,
    LoRAPublisher,
    PolicyPublisher,
    PublishConfig,
    RLConfig,
    TrainerConfig,
    WeightsPublisher,
    train_rl,
)

from .conftest import make_trainer, say_number, toy_reward

LORA = TrainerConfig(lr=1e-3, micro_batch_size=4, lora=LoraConfig(r=4))


def perturb(trainer: Any, seed: int) -> None:
    """Give the adapter non-zero weights (a fresh LoRA equals the base)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in trainer.model.named_parameters():
            if "lora_" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.5)


@pytest.fixture
def served(small_tiny_dir: Path) -> Iterator[tuple[str, AdapterPool]]:
    base = TransformersModel.from_pretrained(small_tiny_dir)
    pool = AdapterPool(base)
    with running_server(create_app(base, model_name="tiny", adapters=pool)) as url:
        yield url, pool


async def test_lora_publisher_makes_the_trainers_adapter_live(
    small_tiny_dir: Path, tmp_path: Path, served: tuple[str, AdapterPool]
) -> None:
    url, pool = served
    trainer = make_trainer(small_tiny_dir, LORA)
    policy = OpenAICompatibleModel("tiny", base_url=url)
    publisher = LoRAPublisher(url, base_name="tiny", folder=tmp_path, policy=policy, keep=2)
    assert isinstance(publisher, PolicyPublisher)
    greedy = SamplingOptions(max_tokens=6, temperature=0.0, return_token_ids=True, logprobs=True)
    request = make_request("Say 3.", options=greedy)
    for version in (1, 2, 3):
        perturb(trainer, seed=version)
        published = publisher.publish(trainer, version)
        assert published.model == f"tiny-v{version}" and published.path is not None
        reply = await policy.complete(request)
        local = await TransformersModel(trainer.model, trainer.tokenizer).complete(request)
        assert reply.token_ids == local.token_ids  # the served adapter is the trainer's model
        assert reply.policy_version == version and reply.model == f"tiny-v{version}"
    assert pool.names() == ["tiny-v2", "tiny-v3"]  # keep=2: v1 unloaded
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny-v2", "tiny-v3"]
    publisher.close()


async def test_a_refused_adapter_keeps_the_old_version_live(
    small_tiny_dir: Path, tmp_path: Path, served: tuple[str, AdapterPool]
) -> None:
    url, pool = served
    trainer = make_trainer(small_tiny_dir, LORA)
    policy = OpenAICompatibleModel("tiny", base_url=url)
    publisher = LoRAPublisher(url, base_name="tiny", folder=tmp_path, policy=policy)
    publisher.publish(trainer, 1)
    with pytest.raises(PublishError, match=r"version 1 .* is live already"):
        publisher.publish(trainer, 1)
    assert (tmp_path / "tiny-v1" / "adapter_config.json").is_file()  # the live one is kept
    other = LoRAPublisher(url, base_name="tiny", folder=tmp_path / "other", policy=policy)
    with pytest.raises(PublishError, match=r"'tiny-v1' was not made live.*already loaded"):
        other.publish(trainer, 1)  # the same name from elsewhere: the server refuses it
    assert not (tmp_path / "other" / "tiny-v1").exists()
    assert policy.name == "tiny-v1" and policy.policy_version == 1
    reply = await policy.complete(make_request("hi", options=SamplingOptions(max_tokens=2)))
    assert reply.policy_version == 1  # the server was resumed and serves the old version
    with pytest.raises(PublishError, match="no LoRA adapter at"):
        publisher.publish_folder(tmp_path / "nowhere", 2)
    assert pool.names() == ["tiny-v1"]


def fake_vllm(behaviour: Mapping[str, Any]) -> tuple[FastAPI, list[str]]:
    """An app that records every POST (path?query) and answers as ``behaviour`` says:
    a status code, or a number of seconds to sleep first."""
    app, calls = FastAPI(), []

    @app.post("/{path:path}")
    async def any_post(path: str, request: Request) -> JSONResponse:
        query = f"?{request.url.query}" if request.url.query else ""
        calls.append(f"/{path}{query}")
        body = await request.body()
        if body:
            calls.append(body.decode())
        action = behaviour.get(f"/{path}")
        if isinstance(action, float):
            await asyncio.sleep(action)
        if isinstance(action, int):
            return JSONResponse({"error": {"message": "adapter is corrupt"}}, status_code=action)
        return JSONResponse({"status": "ok"})

    return app, calls


def test_publisher_errors_name_the_route_and_resume(small_tiny_dir: Path, tmp_path: Path) -> None:
    trainer = make_trainer(small_tiny_dir, LORA)
    app, calls = fake_vllm({"/v1/load_lora_adapter": 500})
    policy = OpenAICompatibleModel("base", base_url="http://unused:1/v1")
    with running_server(app) as url:
        publisher = LoRAPublisher(url, base_name="base", folder=tmp_path, policy=policy)
        with pytest.raises(
            PublishError, match=r"load_lora_adapter answered 500: adapter is corrupt"
        ):
            publisher.publish(trainer, 1)
    assert calls[0] == "/pause?mode=wait" and calls[-1] == "/resume"
    assert policy.name == "base" and policy.policy_version is None
    assert list(tmp_path.iterdir()) == []  # the unused adapter folder is removed


def test_publisher_timeout_is_a_precise_error(small_tiny_dir: Path, tmp_path: Path) -> None:
    trainer = make_trainer(small_tiny_dir, LORA)
    app, _calls = fake_vllm({"/v1/load_lora_adapter": 2.0})
    with running_server(app) as url:
        publisher = LoRAPublisher(url, base_name="b", folder=tmp_path, timeout=0.3, pause=None)
        started = time.perf_counter()
        with pytest.raises(PublishError, match=r"did not answer within 0.3 s"):
            publisher.publish(trainer, 1)
        assert time.perf_counter() - started < 2.0
    with pytest.raises(PublishError, match="cannot reach"):
        LoRAPublisher("http://127.0.0.1:1", base_name="b", folder=tmp_path).publish(trainer, 1)


def test_publisher_misuse(small_tiny_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="keep=0"):
        LoRAPublisher("http://x/v1", base_name="b", folder=tmp_path, keep=0)
    with pytest.raises(ConfigError, match="http"):
        LoRAPublisher("localhost:8000", base_name="b", folder=tmp_path)
    full = make_trainer(small_tiny_dir)
    with pytest.raises(TrainingConfigError, match="WeightsPublisher"):
        LoRAPublisher("http://x/v1", base_name="b", folder=tmp_path).publish(full, 1)


def test_weights_publisher_runs_vllms_transfer_flow(small_tiny_dir: Path) -> None:
    trainer = make_trainer(small_tiny_dir)
    sent: list[int] = []
    app, calls = fake_vllm({})
    policy = OpenAICompatibleModel("base", base_url="http://unused:1/v1")
    with running_server(app) as url:
        publisher = WeightsPublisher(
            url,
            model="base",
            send_weights=lambda t, update: sent.append(len(update["update_info"]["names"])),
            init_info={"master_port": 29500},
            policy=policy,
        )
        publisher.publish(trainer, 1)
        publisher.publish(trainer, 2)
        publisher.close()
    paths = [c for c in calls if c.startswith("/")]
    one = ["/pause?mode=wait", "/start_weight_update", "/update_weights"]
    one += ["/finish_weight_update", "/resume"]
    assert paths == ["/init_weight_transfer_engine", *one, *one]
    assert '"master_port":29500' in calls[1]
    update = next(c for c in calls if c.startswith('{"update_info"'))
    names = [n for n, _ in trainer.model.named_parameters()]
    assert f'"names":["{names[0]}"' in update and '"dtype_names":["float32"' in update
    assert sent == [len(names), len(names)] and policy.policy_version == 2


def test_weights_publisher_failure_skips_finish_and_resumes(small_tiny_dir: Path) -> None:
    trainer = make_trainer(small_tiny_dir)

    def broken(_trainer: Any, _update: Mapping[str, Any]) -> None:
        raise RuntimeError("NCCL timeout")

    app, calls = fake_vllm({})
    with running_server(app) as url:
        publisher = WeightsPublisher(url, model="base", send_weights=broken)
        with pytest.raises(PublishError, match="version 1 failed: NCCL timeout"):
            publisher.publish(trainer, 1)
    paths = [c for c in calls if c.startswith("/")]
    assert "/finish_weight_update" not in paths and paths[-1] == "/resume"


def test_publish_config_builds_the_lora_publisher(tmp_path: Path) -> None:
    from hone.models import ScriptedModel
    from hone.train import PublishConfig, RLConfig

    config = RLConfig.model_validate({"publish": {"folder": "adapters", "keep": 3}}).publish
    assert config is not None
    policy = OpenAICompatibleModel("base", base_url="http://127.0.0.1:8000/v1")
    publisher = config.publisher(policy, tmp_path)
    assert publisher.base_name == "base" and publisher.folder == tmp_path / "adapters"
    assert publisher.keep == 3 and publisher.policy is policy and publisher.pause == "wait"
    publisher.close()
    with pytest.raises(TrainingConfigError, match=r"rl\.publish needs rl\.rollout_model"):
        PublishConfig().publisher(ScriptedModel(["x"]), tmp_path)


def test_train_rl_refuses_rl_publish_without_a_publisher(small_tiny_dir: Path) -> None:
    """``rl.publish`` is built by run_training; from Python, a config that sets it without a
    ``publisher=`` would train without publishing: refused, naming the argument."""
    config = RLConfig(steps=1, group_size=2, tasks_per_step=1, publish=PublishConfig())
    with pytest.raises(TrainingConfigError, match=r"train_rl\(publisher=LoRAPublisher"):
        asyncio.run(
            train_rl(
                make_trainer(small_tiny_dir, config.trainer),
                say_number,
                [{"n": 1}],
                toy_reward,
                config=config,
            )
        )
