"""The model-backend conformance suite against every backend and wrapper hone ships: the local
Transformers backend (the tiny model), the OpenAI-compatible client talking to ``hone serve``
of that same model, the scripted model, and the batching and recording wrappers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hone.models import (
    BatchingModel,
    ChatRequest,
    ModelBackend,
    OpenAICompatibleModel,
    ScriptedModel,
)
from hone.models._transformers import TransformersModel
from hone.models.conformance import CHECKS, BackendHarness, arun_check, causal_lm_scorer
from hone.serve import create_app, running_server
from hone.trajectory import RecordingModel

#: Room for the tool prompt of the tool-call check (RoPE runs past the configured 256).
CONTEXT = 1024

CALL = '<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call>'


def _scripted_reply(request: ChatRequest) -> str:
    """A short reply that depends only on the request, so seeds and batches are reproducible."""
    if request.tool_choice == "required":
        return CALL
    return f"<think>hm</think>{len(request.messages[-1].text)} chars."


async def _close(backend: ModelBackend) -> None:
    if isinstance(backend, OpenAICompatibleModel):
        await backend.aclose()


@pytest.fixture(scope="module")
def local(tiny_model: TransformersModel) -> TransformersModel:
    return TransformersModel(tiny_model.model, tiny_model.tokenizer, max_context=CONTEXT)


@pytest.fixture(scope="module")
def served_url(local: TransformersModel) -> Iterator[str]:
    with running_server(create_app(local, model_name="tiny")) as url:
        yield url


@pytest.fixture(scope="module")
def harnesses(local: TransformersModel, served_url: str) -> dict[str, BackendHarness]:
    def fresh() -> TransformersModel:
        return TransformersModel(local.model, local.tokenizer, name="tiny", max_context=CONTEXT)

    real: dict[str, Any] = {
        "score": causal_lm_scorer(local.model),
        "encode": local.encode_prompt,
        "context_window": CONTEXT,
    }
    return {
        "transformers": BackendHarness(make=fresh, **real),
        "batching": BackendHarness(make=lambda: BatchingModel(fresh()), **real),
        "recording": BackendHarness(make=lambda: RecordingModel(BatchingModel(fresh())), **real),
        "openai_over_serve": BackendHarness(
            make=lambda: OpenAICompatibleModel(
                "tiny", base_url=served_url, api_key="none", max_retries=0
            ),
            close=_close,
            **real,
        ),
        "scripted": BackendHarness(
            make=lambda: ScriptedModel([_scripted_reply], when_exhausted="cycle"),
            # A scripted reply is certain: every byte token has logprob 0.
            score=lambda prompt, completion: [0.0] * len(completion),
            max_tokens=32,
        ),
    }


BACKENDS = ("transformers", "batching", "recording", "openai_over_serve", "scripted")


@pytest.mark.parametrize("check", sorted(CHECKS))
@pytest.mark.parametrize("backend", BACKENDS)
async def test_conformance(harnesses: dict[str, BackendHarness], backend: str, check: str) -> None:
    await arun_check(harnesses[backend], check)


async def test_a_failing_check_says_what_is_wrong() -> None:
    class Truncating(ScriptedModel):
        """Reports one logprob too few: the kind of bug the suite exists to catch."""

        async def complete(self, request: ChatRequest) -> Any:
            out = await super().complete(request)
            return out.__class__(**{**_fields(out), "logprobs": (out.logprobs or ())[:-1]})

    harness = BackendHarness(make=lambda: Truncating(["fine"], when_exhausted="cycle"))
    with pytest.raises(AssertionError, match="logprobs for"):
        await arun_check(harness, "token_ids_and_logprobs")


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}
