"""A generation server as a child process (VLLMServer): started from a command, healthy before
use, stopped with its process group; precise errors for a missing program, a process that
dies, a server that never answers; clients that record the policy version they were sent to."""

from __future__ import annotations

import socket
import sys
import textwrap
from pathlib import Path

import pytest

from hone.errors import ConfigError, ModelConnectionError, ModelNotFoundError
from hone.models import SamplingOptions, VLLMServer, make_request, vllm_command

SERVER = textwrap.dedent(
    """
    import sys, uvicorn
    from hone.models import ScriptedModel
    from hone.serve import create_app
    print("starting", flush=True)
    app = create_app(ScriptedModel(["pong"], when_exhausted="cycle"), model_name="base")
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_started_server_serves_and_stops(tmp_path: Path) -> None:
    script = tmp_path / "server.py"
    script.write_text(SERVER, encoding="utf-8")
    port = free_port()
    server = VLLMServer(
        f"http://127.0.0.1:{port}/v1",
        command=[sys.executable, str(script), str(port)],
        startup_timeout=60,
    )
    with server:
        assert server.running
        model = server.model("base", policy_version=0)
        reply = await model.complete(make_request("ping"))
        assert reply.text == "pong" and reply.policy_version == 0
        model.serve_policy("base-v1", 1)  # what a publisher does after loading an adapter
        with pytest.raises(ModelNotFoundError, match=r"'base-v1'.*it serves: base"):
            await model.complete(make_request("ping"))
        assert "starting" in server.output_tail()
        process = server._process
    assert not server.running and process is not None and process.poll() is not None


def test_startup_failures_are_precise(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot run 'no-such-vllm'"):
        VLLMServer("http://127.0.0.1:1/v1", command=["no-such-vllm", "serve"]).start()
    crash = [sys.executable, "-c", "import sys; print('CUDA out of memory'); sys.exit(3)"]
    with pytest.raises(ModelConnectionError, match=r"exited with code 3(.|\n)*CUDA out of memory"):
        VLLMServer(f"http://127.0.0.1:{free_port()}/v1", command=crash).start()
    silent = VLLMServer(f"http://127.0.0.1:{free_port()}/v1", startup_timeout=0.5)
    with pytest.raises(ModelConnectionError, match=r"did not answer 200 within 0\.5 s"):
        silent.start()
    with pytest.raises(ConfigError, match="API root"):
        VLLMServer("127.0.0.1:8000")


def test_vllm_command_for_rl() -> None:
    command = vllm_command("Qwen/Qwen3-0.6B", port=9000, max_loras=4, max_lora_rank=16)
    assert command[:3] == ["vllm", "serve", "Qwen/Qwen3-0.6B"]
    assert command[command.index("--max-loras") + 1] == "4" and "--enable-lora" in command
    assert command[command.index("--max-lora-rank") + 1] == "16"
    assert VLLMServer("http://h:1/v1").env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "1"


async def test_unreachable_server_is_a_connection_error() -> None:
    model = VLLMServer(f"http://127.0.0.1:{free_port()}/v1").model("m", max_retries=0)
    options = SamplingOptions(max_tokens=2)
    with pytest.raises(ModelConnectionError, match="cannot reach the model server"):
        await model.complete(make_request("hi", options=options))
