"""RL works over HTTP: a local model served by ``hone serve`` gives the OpenAI-compatible backend
the same exact token ids and logprobs as the local backend."""

from __future__ import annotations

import asyncio

import openai

from hone.models import OpenAICompatibleModel, SamplingOptions, make_request
from hone.models._transformers import TransformersModel
from hone.serve import create_app, running_server

OPTIONS = SamplingOptions(
    max_tokens=12, temperature=0.0, seed=7, logprobs=True, return_token_ids=True
)


def test_token_ids_and_logprobs_survive_the_wire(tiny_model: TransformersModel) -> None:
    request = make_request([("user", "Numbers: 3 4 5. Target: 17.")], options=OPTIONS)
    local = asyncio.run(tiny_model.complete(request))
    with running_server(create_app(tiny_model, model_name="tiny")) as url:
        remote_model = OpenAICompatibleModel("tiny", base_url=url, api_key="none")
        remote = asyncio.run(remote_model.complete(request))
    assert local.token_ids and local.prompt_token_ids and local.logprobs
    assert remote.prompt_token_ids == local.prompt_token_ids
    assert remote.token_ids == local.token_ids
    assert remote.logprobs is not None
    assert all(abs(a - b) < 1e-5 for a, b in zip(remote.logprobs, local.logprobs, strict=True))
    assert remote.message.content == local.message.content


def test_official_client_reads_the_served_tiny_model(tiny_model: TransformersModel) -> None:
    with running_server(create_app(tiny_model, model_name="tiny", api_key="k")) as url:
        client = openai.OpenAI(base_url=url, api_key="k", max_retries=0)
        reply = client.chat.completions.create(
            model="tiny",
            messages=[{"role": "user", "content": "hello"}],
            max_tokens=8,
            temperature=0.0,
            logprobs=True,
        )
        assert [m.id for m in client.models.list()] == ["tiny"]
    choice = reply.choices[0]
    assert choice.logprobs is not None and choice.logprobs.content
    assert reply.usage is not None and reply.usage.completion_tokens == len(choice.logprobs.content)
