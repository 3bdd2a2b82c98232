"""``hone gateway``: options reach the gateway, and a real process serves, records and stops."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from typer.testing import CliRunner

from hone.cli import app
from hone.serve import GatewayStore

runner = CliRunner()

MODELS = """
from hone.models import ScriptedModel

model = ScriptedModel(["7"], name="policy", when_exhausted="cycle")
"""


def test_options_reach_the_gateway(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []

    def fake(model: Any, **kwargs: Any) -> None:
        kwargs.pop("on_ready")
        calls.append({"model": model, **kwargs})

    monkeypatch.setattr("hone.serve.serve_gateway", fake)
    db = tmp_path / "g.db"
    args = ["gateway", "openai-compatible:http://up:8000/v1#m", "--db", str(db), "--port", "0"]
    options = ["--policy-version", "12", "--token-ids", "never", "--max-batch", "8"]
    result = runner.invoke(app, [*args, *options])
    assert result.exit_code == 0, result.output
    (call,) = calls
    assert call["model"] == "openai-compatible:http://up:8000/v1#m" and call["db"] == db
    assert call["policy_version"] == 12 and call["token_ids"] == "never"
    assert call["max_batch"] == 8

    result = runner.invoke(app, [*args, "--policy-version", "lora-3"])
    assert calls[-1]["policy_version"] == "lora-3"


def test_bad_options_are_named(tmp_path: Path) -> None:
    result = runner.invoke(app, ["gateway", "tiny:", "--parser", "nope"])
    assert result.exit_code != 0 and "unknown parser 'nope'" in result.output
    result = runner.invoke(app, ["gateway", "tiny:", "--token-ids", "sometimes"])
    assert result.exit_code != 0 and "sometimes" in result.output


@pytest.mark.slow
def test_a_gateway_process_records_and_keeps_what_it_recorded(tmp_path: Path) -> None:
    (tmp_path / "gw_models.py").write_text(textwrap.dedent(MODELS))
    db = tmp_path / "gateway.db"
    hone = Path(sys.executable).with_name("hone")
    command = [str(hone), "gateway", "gw_models:model", "--port", "0"]
    env = {**os.environ, "COLUMNS": "300"}
    process = subprocess.Popen(
        [*command, "--db", str(db), "--policy-version", "5"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"on (http://\S+?)/sessions/<id>/v1", line)
        assert found, line
        root = found.group(1)
        client = openai.OpenAI(base_url=f"{root}/sessions/cli-1/v1", api_key="none")
        reply = client.chat.completions.create(
            model="policy", messages=[{"role": "user", "content": "Say the number 7."}]
        )
        assert reply.choices[0].message.content == "7"
        assert httpx.post(f"{root}/sessions/cli-1/reward", json={"reward": 1.0}).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
    with GatewayStore(db) as store:
        (call,) = store.calls("cli-1")
        assert call.policy_version == 5 and call.has_tokens
        assert store.session("cli-1").reward == 1.0
