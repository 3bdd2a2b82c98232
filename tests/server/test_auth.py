"""Auth by a function of the request headers (``auth.authenticate``), beside API keys."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.errors import AuthenticationError, NotFoundError

from hone.errors import ConfigError
from hone.server import AuthConfig, running_server
from hone.server._auth import Authenticator

from .conftest import make_config

TOKENS = {"token-of-carol": "carol", "token-of-dan": "dan"}


def by_token(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return TOKENS.get(token) if scheme.lower() == "bearer" else None


async def by_token_async(headers: Mapping[str, str]) -> str | None:
    return by_token(headers)


@pytest.mark.parametrize("function", [by_token, by_token_async])
def test_a_function_names_the_user(function: object) -> None:
    auth = AuthConfig(api_keys={"alice-key": "alice"}, authenticate=function)  # type: ignore[arg-type]
    with running_server(make_config(":memory:", auth=auth)) as url:
        carol = get_sync_client(url=url, headers={"authorization": "Bearer token-of-carol"})
        dan = get_sync_client(url=url, headers={"authorization": "Bearer token-of-dan"})
        alice = get_sync_client(url=url, api_key="alice-key")
        tid = carol.threads.create()["thread_id"]
        assert carol.runs.wait(tid, "counter", input={"log": []}) == {"log": ["a", "b"]}
        for other in (dan, alice):
            with pytest.raises(NotFoundError):
                other.threads.get(tid)
        stranger = get_sync_client(url=url, headers={"authorization": "Bearer forged"})
        with pytest.raises(AuthenticationError, match="invalid API key"):
            stranger.threads.search()
        with httpx.Client(base_url=url) as raw:
            answer = raw.post("/threads/search", json={})
            assert answer.status_code == 401 and answer.json()["code"] == "missing_api_key"
        for client in (carol, dan, alice, stranger):
            client.http.client.close()


async def test_the_function_path_is_resolved_and_checked() -> None:
    made = Authenticator(
        AuthConfig(authenticate="agents.py:bearer_user"), base_dir=make_config(":memory:").folder
    )
    assert made.enabled
    assert await made.identify({"authorization": "Bearer token-of-erin"}) == "erin"
    with pytest.raises(ConfigError, match=r"auth\.authenticate"):
        Authenticator(
            AuthConfig(authenticate="agents.py:no_such_function"),
            base_dir=make_config(":memory:").folder,
        )
