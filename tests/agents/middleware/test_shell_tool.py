"""``ShellToolMiddleware``, its session and its execution policies: real bash sessions on the
host policy, driven through ``create_agent`` with a hone model and a LangChain chat model;
the Docker and Codex policies are checked by the command lines they build."""

from __future__ import annotations

import gc
import logging
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import pytest

from hone.agents import create_agent
from hone.agents.middleware import (
    CodexSandboxExecutionPolicy,
    DockerExecutionPolicy,
    HostExecutionPolicy,
    RedactionRule,
    ShellSession,
    ShellToolError,
    ShellToolMiddleware,
    _shell_execution,
)
from hone.agents.middleware._shell_tool import _SessionResources
from hone.checkpoint import InMemorySaver
from hone.messages import AssistantMessage, ToolCall, ToolMessage
from hone.models import ScriptedModel


def _started(middleware: ShellToolMiddleware) -> tuple[dict[str, Any], _SessionResources]:
    state: dict[str, Any] = {"messages": []}
    state.update(middleware.before_agent(state, None) or {})
    resources = state["shell_session_resources"]
    assert isinstance(resources, _SessionResources)
    return state, resources


def _run(middleware: ShellToolMiddleware, resources: _SessionResources, command: str) -> str:
    out = middleware._run_shell_tool(resources, {"command": command}, tool_call_id=None)
    assert isinstance(out, str)
    return out


@pytest.fixture
def shell(tmp_path: Path) -> Any:
    middleware = ShellToolMiddleware(workspace_root=tmp_path / "ws")
    state, resources = _started(middleware)
    yield middleware, resources
    middleware.after_agent(state, None)


def _calls(*commands: dict[str, Any]) -> AssistantMessage:
    return AssistantMessage(
        tool_calls=tuple(
            ToolCall(id=f"c{i}", name="shell", arguments=args) for i, args in enumerate(commands)
        )
    )


# -- the session through the agent


def test_hone_agent_runs_commands_in_one_persistent_session(tmp_path: Path) -> None:
    model = ScriptedModel(
        [
            _calls({"command": "cd / && export GREETING=hi"}),
            _calls({"command": "pwd; echo $GREETING"}, {"command": "exit_not_a_command 2>&1"}),
            "done",
        ]
    )
    agent = create_agent(model, middleware=[ShellToolMiddleware(tmp_path / "ws")])
    out = agent.invoke({"messages": [("user", "go")]})
    answers = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert [a.text for a in answers[:2]] == ["<no output>", "/\nhi\n"]
    assert answers[1].name == "shell" and not answers[1].is_error
    assert answers[2].is_error and answers[2].text.endswith("Exit code: 127")
    assert "shell_session_resources" not in out


def test_bad_arguments_come_back_to_the_model(tmp_path: Path) -> None:
    model = ScriptedModel([_calls({}, {"command": "ls", "restart": True}), "done"])
    agent = create_agent(model, middleware=[ShellToolMiddleware(tmp_path / "ws")])
    out = agent.invoke({"messages": [("user", "go")]})
    answers = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert all(a.is_error for a in answers)
    assert "requires either 'command' or 'restart'" in answers[0].text
    assert "Specify only one of 'command' or 'restart'" in answers[1].text


def _langchain_agent_run(tmp_path: Path, **agent_options: Any) -> Any:
    fake = pytest.importorskip("langchain_core.language_models.fake_chat_models")
    messages = pytest.importorskip("langchain_core.messages")

    class Model(fake.GenericFakeChatModel):  # type: ignore[misc, name-defined]
        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

    turns = [
        messages.AIMessage(
            content="",
            tool_calls=[{"name": "shell", "args": {"command": "echo hi; false"}, "id": "c1"}],
        ),
        messages.AIMessage(content="done"),
    ]
    agent = create_agent(
        Model(messages=iter(turns)),
        middleware=[ShellToolMiddleware(tmp_path / "ws")],
        **agent_options,
    )
    out = agent.invoke(
        {"messages": [messages.HumanMessage("run")]}, {"configurable": {"thread_id": "t"}}
    )
    return next(m for m in out["messages"] if isinstance(m, messages.ToolMessage))


def test_langchain_agent_gets_langchain_tool_messages(tmp_path: Path) -> None:
    answer = _langchain_agent_run(tmp_path)
    assert answer.content == "hi\n\nExit code: 1"
    assert answer.status == "error" and answer.name == "shell"


def test_the_session_is_never_checkpointed(tmp_path: Path) -> None:
    answer = _langchain_agent_run(tmp_path, checkpointer=InMemorySaver())
    assert answer.content == "hi\n\nExit code: 1"


def test_temporary_workspace_is_removed_when_the_run_ends() -> None:
    model = ScriptedModel([_calls({"command": "pwd"}), "done"])
    out = create_agent(model, middleware=[ShellToolMiddleware()]).invoke(
        {"messages": [("user", "go")]}
    )
    workspace = Path(out["messages"][2].text.strip())
    assert workspace.name.startswith(_shell_execution.SHELL_TEMP_PREFIX)
    assert not workspace.exists()


# -- the tool's answers


def test_output_stderr_empty_output_and_exit_codes(shell: Any) -> None:
    middleware, resources = shell
    assert _run(middleware, resources, "echo out") == "out\n"
    assert _run(middleware, resources, "echo err >&2") == "[stderr] err\n"
    assert _run(middleware, resources, "true") == "<no output>"
    answer = middleware._run_shell_tool(resources, {"command": "false"}, tool_call_id="x")
    assert isinstance(answer, ToolMessage)
    assert answer.is_error and answer.text == "<no output>\n\nExit code: 1"
    assert answer.extra is not None and answer.extra["artifact"]["exit_code"] == 1


def test_restart_resets_the_environment(shell: Any) -> None:
    middleware, resources = shell
    _run(middleware, resources, "export FOO=bar")
    restarted = middleware._run_shell_tool(resources, {"restart": True}, tool_call_id=None)
    assert restarted == "Shell session restarted."
    assert _run(middleware, resources, "echo ${FOO:-unset}").strip() == "unset"


def test_missing_command_raises(shell: Any) -> None:
    middleware, resources = shell
    for payload in ({"command": None}, {"command": 123}):
        with pytest.raises(ShellToolError, match="expects a 'command' string"):
            middleware._run_shell_tool(resources, payload, tool_call_id=None)


def test_truncation_by_lines_and_bytes(tmp_path: Path) -> None:
    for policy, note in (
        (HostExecutionPolicy(max_output_lines=5), "truncated at 5 lines (observed 20)"),
        (HostExecutionPolicy(max_output_bytes=10), "truncated at 10 bytes (observed 51)"),
    ):
        middleware = ShellToolMiddleware(tmp_path / "ws", execution_policy=policy)
        state, resources = _started(middleware)
        try:
            out = _run(middleware, resources, "seq 1 20")
        finally:
            middleware.after_agent(state, None)
        assert out.startswith("1\n2\n") and out.endswith(f"... Output {note}.")


def test_timeout_kills_the_command_and_restarts(tmp_path: Path) -> None:
    policy = HostExecutionPolicy(command_timeout=0.3)
    middleware = ShellToolMiddleware(tmp_path / "ws", execution_policy=policy)
    state, resources = _started(middleware)
    try:
        _run(middleware, resources, "export KEPT=1")
        start = time.monotonic()
        answer = middleware._run_shell_tool(resources, {"command": "sleep 5"}, tool_call_id="t")
        assert time.monotonic() - start < 2
        assert isinstance(answer, ToolMessage) and answer.is_error
        assert answer.text == "Error: Command timed out after 0.3 seconds."
        assert _run(middleware, resources, "echo ${KEPT:-fresh}").strip() == "fresh"
    finally:
        middleware.after_agent(state, None)


def test_redaction_rules_rewrite_or_block_output(tmp_path: Path) -> None:
    middleware = ShellToolMiddleware(
        tmp_path / "ws",
        redaction_rules=[RedactionRule(pii_type="email"), RedactionRule("ip", strategy="block")],
    )
    state, resources = _started(middleware)
    try:
        out = _run(middleware, resources, "echo mail user@example.com")
        assert out == "mail [REDACTED_EMAIL]\n"
        blocked = middleware._run_shell_tool(
            resources, {"command": "echo 10.0.0.1"}, tool_call_id="b"
        )
        assert isinstance(blocked, ToolMessage) and blocked.is_error
        assert blocked.text == "Output blocked: detected ip."
    finally:
        middleware.after_agent(state, None)


def test_env_values_become_strings(tmp_path: Path) -> None:
    middleware = ShellToolMiddleware(tmp_path / "ws", env={"NUM": 42, "FLAG": True})
    state, resources = _started(middleware)
    try:
        assert _run(middleware, resources, "echo $NUM $FLAG") == "42 True\n"
    finally:
        middleware.after_agent(state, None)


# -- lifecycle


def test_startup_and_shutdown_commands(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    middleware = ShellToolMiddleware(
        workspace, startup_commands="touch up", shutdown_commands=["touch down", "exit 1"]
    )
    state, _ = _started(middleware)
    assert (workspace / "up").exists()
    middleware.after_agent(state, None)
    assert (workspace / "down").exists()


def test_failing_startup_command_raises(tmp_path: Path) -> None:
    middleware = ShellToolMiddleware(tmp_path / "ws", startup_commands=("exit 3",))
    with pytest.raises(RuntimeError, match="Startup command 'exit 3' failed with exit code 3"):
        middleware.before_agent({"messages": []}, None)


def test_resumed_state_reuses_the_session(shell: Any) -> None:
    middleware, resources = shell
    state = {"messages": [], "shell_session_resources": resources}
    _run(middleware, resources, "export KEPT=yes")
    assert middleware.before_agent(state, None) == {"shell_session_resources": resources}
    assert _run(middleware, resources, "echo $KEPT") == "yes\n"


async def test_async_hooks(tmp_path: Path) -> None:
    middleware = ShellToolMiddleware(tmp_path / "ws", shutdown_commands="touch down")
    state: dict[str, Any] = {"messages": []}
    state.update(await middleware.abefore_agent(state, None) or {})
    await middleware.aafter_agent(state, None)
    assert (tmp_path / "ws" / "down").exists()


def test_finalizer_releases_dropped_resources(tmp_path: Path) -> None:
    session = Mock()
    tempdir = tempfile.TemporaryDirectory(dir=tmp_path)
    resources = _SessionResources(session=session, tempdir=tempdir, policy=HostExecutionPolicy())
    finalizer = resources.finalizer
    del resources
    gc.collect()
    assert not finalizer.alive
    session.stop.assert_called_once()
    assert not Path(tempdir.name).exists()


def test_constructor_checks() -> None:
    with pytest.raises(ValueError, match="at least one argument"):
        ShellToolMiddleware(shell_command=[])
    with pytest.raises(TypeError, match="must be strings"):
        ShellToolMiddleware(env={1: "x"})  # type: ignore[dict-item]
    assert ShellToolMiddleware(startup_commands="a")._startup_commands == ("a",)
    assert ShellToolMiddleware(tool_name="bash").tools[0].name == "bash"


@pytest.mark.parametrize(("own_group", "killpg_calls"), [(True, 1), (False, 0)])
def test_kill_never_signals_the_callers_process_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_group: bool, killpg_calls: int
) -> None:
    session = ShellSession(tmp_path, HostExecutionPolicy(), ("/bin/bash",), {})
    process = Mock(pid=4321)
    session._process = process
    killpg = Mock()
    monkeypatch.setattr("os.killpg", killpg)
    monkeypatch.setattr("os.getpgid", lambda pid: 2000 if own_group else 1000)
    monkeypatch.setattr("os.getpgrp", lambda: 1000)
    session._kill_process()
    assert killpg.call_count == killpg_calls
    assert process.kill.call_count == 1 - killpg_calls


def test_failed_group_kill_falls_back_and_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    session = ShellSession(tmp_path, HostExecutionPolicy(), ("/bin/bash",), {})
    process = Mock(pid=4321)
    session._process = process
    monkeypatch.setattr("os.killpg", Mock(side_effect=PermissionError("no")))
    monkeypatch.setattr("os.getpgid", lambda pid: 2000)
    monkeypatch.setattr("os.getpgrp", lambda: 1000)
    with caplog.at_level(logging.WARNING):
        session._kill_process()
    process.kill.assert_called_once_with()
    assert "falling back to direct kill" in caplog.text


# -- policies


class _Launches:
    """Stands in for the policies' process launcher and records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, command: Sequence[str], **kwargs: Any) -> Any:
        self.calls.append({"command": list(command), **kwargs})
        return Mock(spec=subprocess.Popen, pid=99)


@pytest.fixture
def launches(monkeypatch: pytest.MonkeyPatch) -> _Launches:
    recorder = _Launches()
    monkeypatch.setattr(_shell_execution, "_launch_subprocess", recorder)
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    return recorder


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="max_output_lines must be positive"):
        HostExecutionPolicy(max_output_lines=0)
    with pytest.raises(ValueError, match="cpu_time_seconds must be positive"):
        HostExecutionPolicy(cpu_time_seconds=0)
    with pytest.raises(ValueError, match="memory_bytes must be positive"):
        DockerExecutionPolicy(memory_bytes=0)
    with pytest.raises(RuntimeError, match="cpu_time_seconds"):
        DockerExecutionPolicy(cpu_time_seconds=1)
    with pytest.raises(ValueError, match="cpus must be a non-empty string"):
        DockerExecutionPolicy(cpus=" ")
    with pytest.raises(ValueError, match="user must be a non-empty string"):
        DockerExecutionPolicy(user=" ")


def test_host_policy_limits_with_prlimit(
    launches: _Launches, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    prlimit = Mock()
    monkeypatch.setattr(resource, "prlimit", prlimit)
    monkeypatch.setattr(sys, "platform", "linux")
    policy = HostExecutionPolicy(cpu_time_seconds=2, memory_bytes=4096, create_process_group=False)
    policy.spawn(workspace=tmp_path, env={}, command=("/bin/sh",))
    assert launches.calls[0]["preexec_fn"] is None
    assert launches.calls[0]["start_new_session"] is False
    assert [c.args for c in prlimit.call_args_list] == [
        (99, resource.RLIMIT_CPU, (2, 2)),
        (99, resource.RLIMIT_AS, (4096, 4096)),
    ]


def test_docker_policy_command(launches: _Launches, tmp_path: Path) -> None:
    policy = DockerExecutionPolicy(
        image="ubuntu:22.04",
        memory_bytes=4096,
        cpus="1.5",
        user="1000:1000",
        read_only_rootfs=True,
        extra_run_args=("--ipc", "host"),
    )
    policy.spawn(workspace=tmp_path, env={"PATH": "/bin"}, command=("/bin/bash",))
    call = launches.calls[0]
    assert call["command"] == [
        "/usr/bin/docker", "run", "-i", "--rm", "--network", "none", "--memory", "4096",
        "-v", f"{tmp_path}:{tmp_path}", "-w", str(tmp_path), "--read-only", "-e", "PATH=/bin",
        "--cpus", "1.5", "--user", "1000:1000", "--ipc", "host", "ubuntu:22.04", "/bin/bash",
    ]  # fmt: skip
    assert call["start_new_session"] is True and "PATH" in call["env"]


def test_docker_policy_never_mounts_a_temporary_workspace(
    launches: _Launches, tmp_path: Path
) -> None:
    workspace = tmp_path / f"{_shell_execution.SHELL_TEMP_PREFIX}x"
    DockerExecutionPolicy(network_enabled=True).spawn(
        workspace=workspace, env={}, command=("/bin/sh",)
    )
    command = launches.calls[0]["command"]
    assert "-v" not in command and "--network" not in command
    assert command[command.index("-w") + 1] == "/"


def test_codex_policy_command(launches: _Launches, tmp_path: Path) -> None:
    policy = CodexSandboxExecutionPolicy(
        platform="linux", config_overrides={"b": ["x"], "a": 1, "c": object}
    )
    policy.spawn(workspace=tmp_path, env={"V": "1"}, command=("/bin/bash",))
    call = launches.calls[0]
    assert call["command"] == [
        "/usr/bin/codex", "sandbox", "linux", "-c", "a=1", "-c", 'b=["x"]',
        "-c", f"c={object}", "--", "/bin/bash",
    ]  # fmt: skip
    assert call["env"] == {"V": "1"} and call["start_new_session"] is True


def test_codex_policy_platforms(monkeypatch: pytest.MonkeyPatch) -> None:
    for platform, expected in (("linux", "linux"), ("darwin", "macos")):
        monkeypatch.setattr(sys, "platform", platform)
        assert CodexSandboxExecutionPolicy()._determine_platform() == expected
    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(RuntimeError, match="set 'platform' explicitly"):
        CodexSandboxExecutionPolicy()._determine_platform()


def test_missing_cli_raises(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="'docker' CLI to be installed"):
        DockerExecutionPolicy().spawn(workspace=tmp_path, env={}, command=("sh",))
    with pytest.raises(RuntimeError, match="'codex' CLI to be installed"):
        CodexSandboxExecutionPolicy().spawn(workspace=tmp_path, env={}, command=("sh",))
