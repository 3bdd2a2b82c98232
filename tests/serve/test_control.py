"""vLLM's control routes on ``hone serve``: LoRA load/unload errors, pause modes (a request
sent while paused waits; ``abort`` answers in-flight requests 503; ``wait`` drains them), and
a server without adapters saying so."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from hone.models._protocol import ChatRequest, Completion
from hone.models._scripted import ScriptedModel
from hone.models._transformers import TransformersModel
from hone.serve import AdapterPool, create_app, running_server

from ._lora_fixtures import build_adapter, build_base

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


class SlowModel(ScriptedModel):
    """A scripted model whose replies wait for ``release`` (to hold requests in flight)."""

    def __init__(self) -> None:
        super().__init__(["done"], name="m", when_exhausted="cycle")
        self.release = threading.Event()
        self.started = threading.Event()

    async def complete(self, request: ChatRequest) -> Completion:
        self.started.set()
        while not self.release.is_set():
            await asyncio.sleep(0.01)
        return await super().complete(request)

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        return [await self.complete(r) for r in requests]


def test_lora_routes_without_adapters_say_how_to_enable_them() -> None:
    with running_server(create_app(ScriptedModel(["x"]), model_name="m")) as url:
        root = url.removesuffix("/v1")
        body = {"lora_name": "a", "lora_path": "/tmp/a"}
        reply = httpx.post(f"{root}/v1/load_lora_adapter", json=body)
        assert reply.status_code == 400
        assert reply.json()["error"]["code"] == "lora_not_enabled"
        assert "--max-loras" in reply.json()["error"]["message"]


@pytest.fixture(scope="module")
def lora_server(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    root = tmp_path_factory.mktemp("control")
    base = build_base(root / "base")
    adapter = build_adapter(base, root / "a", seed=1)
    model = TransformersModel.from_pretrained(base)
    app = create_app(model, model_name="tiny", adapters=AdapterPool(model), api_key="k")
    with running_server(app) as url:
        yield url.removesuffix("/v1"), adapter


def test_lora_load_errors_name_the_field(lora_server: tuple[str, Path], tmp_path: Path) -> None:
    root, adapter = lora_server
    auth = {"authorization": "Bearer k"}
    post = httpx.Client(base_url=root, headers=auth).post
    assert post("/v1/load_lora_adapter", json={"lora_name": "x"}).status_code == 400
    missing = post("/v1/load_lora_adapter", json={"lora_name": "x", "lora_path": str(tmp_path)})
    assert missing.status_code == 400
    assert missing.json()["error"]["param"] == "lora_path"
    assert "adapter_config.json" in missing.json()["error"]["message"]
    ok = post("/v1/load_lora_adapter", json={"lora_name": "x", "lora_path": str(adapter)})
    assert ok.status_code == 200
    again = post("/v1/load_lora_adapter", json={"lora_name": "x", "lora_path": str(adapter)})
    assert again.status_code == 400 and again.json()["error"]["param"] == "lora_name"
    inplace = {"lora_name": "x", "lora_path": str(adapter), "load_inplace": True}
    assert post("/v1/load_lora_adapter", json=inplace).status_code == 200
    models = httpx.get(f"{root}/v1/models", headers=auth).json()["data"]
    assert {"id": "x", "parent": "tiny"}.items() <= next(
        m for m in models if m["id"] == "x"
    ).items()
    card = httpx.get(f"{root}/v1/models/x", headers=auth).json()
    assert card["id"] == "x" and card["parent"] == "tiny"
    chat = {**CHAT, "model": "x", "return_token_ids": True}
    reply = post("/v1/chat/completions", json=chat)
    assert reply.status_code == 200 and reply.json()["model"] == "x"
    assert reply.json()["choices"][0]["token_ids"]
    assert post("/v1/unload_lora_adapter", json={"lora_name": "x"}).status_code == 200
    gone = post("/v1/unload_lora_adapter", json={"lora_name": "x"})
    assert gone.status_code == 404 and "no LoRA adapter named 'x'" in gone.text
    unknown = post("/v1/chat/completions", json={**CHAT, "model": "x"})
    assert unknown.status_code == 404 and "serves 'tiny'" in unknown.text
    assert httpx.post(f"{root}/pause").status_code == 401  # control routes need the key too


async def test_pause_holds_new_requests_and_abort_answers_in_flight_ones() -> None:
    model = SlowModel()
    with running_server(create_app(model, model_name="m")) as url:
        root = url.removesuffix("/v1")
        async with httpx.AsyncClient(base_url=root, timeout=30) as client:
            in_flight = asyncio.ensure_future(client.post("/v1/chat/completions", json=CHAT))
            while not model.started.is_set():
                await asyncio.sleep(0.01)
            paused = await client.post("/pause", params={"mode": "abort"})
            assert paused.json() == {"status": "paused", "mode": "abort"}
            aborted = await in_flight
            assert aborted.status_code == 503 and aborted.json()["error"]["code"] == "aborted"
            model.release.set()
            held = asyncio.ensure_future(client.post("/v1/chat/completions", json=CHAT))
            await asyncio.sleep(0.3)
            assert not held.done()
            assert (await client.get("/is_paused")).json() == {"is_paused": True}
            await client.post("/resume")
            assert (await held).status_code == 200
            assert (await client.get("/is_paused")).json() == {"is_paused": False}


async def test_pause_wait_returns_after_in_flight_requests_finish() -> None:
    model = SlowModel()
    with running_server(create_app(model, model_name="m")) as url:
        root = url.removesuffix("/v1")
        async with httpx.AsyncClient(base_url=root, timeout=30) as client:
            in_flight = asyncio.ensure_future(client.post("/v1/chat/completions", json=CHAT))
            while not model.started.is_set():
                await asyncio.sleep(0.01)
            pausing = asyncio.ensure_future(client.post("/pause", params={"mode": "wait"}))
            await asyncio.sleep(0.3)
            assert not pausing.done()  # waits for the request in flight
            model.release.set()
            assert (await in_flight).status_code == 200
            assert (await pausing).status_code == 200
            keep = await client.post("/pause", params={"mode": "keep"})
            assert keep.status_code == 200
            bad = await client.post("/pause", params={"mode": "sleep"})
            assert bad.status_code == 400 and bad.json()["error"]["param"] == "query.mode"
            await client.post("/resume")


def test_serve_refuses_adapters_over_a_remote_or_scripted_model() -> None:
    from hone.errors import ConfigError
    from hone.serve import serve

    with pytest.raises(ConfigError, match="local transformers model"):
        serve(ScriptedModel(["x"]), port=0, max_loras=2)
    with pytest.raises(ConfigError, match="need max_loras"):
        serve(ScriptedModel(["x"]), port=0, lora_modules={"a": "/tmp/a"})


def test_cli_lora_option_wants_name_equals_path() -> None:
    from typer.testing import CliRunner

    from hone.cli import app

    result = CliRunner().invoke(app, ["serve", "tiny:", "--lora", "nopath", "--port", "0"])
    assert result.exit_code == 2
    assert "NAME=PATH" in result.output
