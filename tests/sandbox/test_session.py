"""Process sessions: reports, limits, host functions, life cycle, and misuse."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hone.errors import ConfigError
from hone.sandbox import (
    LAYERS,
    HostFunction,
    Layers,
    Limits,
    ProcessSandbox,
    ProcessSession,
    Sandbox,
    SandboxBusyError,
    SandboxConfig,
    SandboxEndedError,
    SandboxSession,
    SandboxStartError,
    SandboxValueError,
    tool_functions,
)
from hone.sandbox._worker.capture import Capture
from hone.tools import tool

BARE = Layers(bubblewrap=False, drop_uid=False, landlock=False, seccomp=False)


def test_capture_keeps_head_and_tail() -> None:
    capture = Capture(10)
    for piece in ("abc", "defgh", "ijklmnop", "qrstuvwxyz"):
        capture.add(piece)
    assert capture.total == 26
    assert capture.text() == "abcde\n... [16 characters of output omitted] ...\nvwxyz"
    short = Capture(10)
    short.add("hello")
    assert short.text() == "hello"


async def test_report_names_every_layer(session: ProcessSession) -> None:
    report = session.report
    assert [s.layer for s in report.layers] == list(LAYERS)
    assert all(s.detail for s in report.layers)
    for always in ("session", "environment", "scratch", "output_bounds", "rlimits", "pdeathsig"):
        assert report.applied(always), report.summary()
    assert len(report.summary().splitlines()) == len(LAYERS)
    assert set(report.missing) == {s.layer for s in report.layers if not s.applied}
    with pytest.raises(ConfigError, match="unknown sandbox layer"):
        report.status("firewall")  # type: ignore[arg-type]
    assert isinstance(session, SandboxSession)
    assert isinstance(ProcessSandbox(), Sandbox)


async def test_a_required_layer_that_is_off_stops_the_start(
    make_config: Callable[..., SandboxConfig],
) -> None:
    config = make_config(layers=Layers(landlock=False, require=("landlock_fs",)))
    with pytest.raises(SandboxStartError, match="landlock_fs: not asked"):
        await ProcessSandbox(config).astart()


async def test_the_environment_is_allow_listed(
    make_config: Callable[..., SandboxConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HONE_TEST_TOKEN", "secret-token")
    monkeypatch.setenv("TZ", "UTC")
    config = make_config(env={"GREETING": "hi"})
    async with await ProcessSandbox(config).astart() as session:
        env = json.loads(
            (await session.arun("import os, json\nprint(json.dumps(dict(os.environ)))")).output
        )
        assert env["GREETING"] == "hi" and env["TZ"] == "UTC"
        assert "HONE_TEST_TOKEN" not in env
        assert env["HOME"] == env["TMPDIR"] == session.scratch
        assert set(env) <= {*session.report.status("environment").detail[5:].split(", "), "PWD"}


async def test_scratch_is_the_working_folder_and_goes_away(session: ProcessSession) -> None:
    result = await session.arun("import os\nopen('out.txt', 'w').write('data')\nprint(os.getcwd())")
    assert result.output.strip() == session.scratch
    path = Path(session.scratch) / "out.txt"
    assert path.read_text() == "data"
    if session.uid is not None:
        assert path.stat().st_uid == session.uid
    await session.aclose()
    assert not Path(session.scratch).exists()


async def test_a_given_scratch_folder_is_kept(
    make_config: Callable[..., SandboxConfig], tmp_path: Path
) -> None:
    (tmp_path / "input.txt").write_text("from the host")
    os.chmod(tmp_path, 0o777)
    os.chmod(tmp_path / "input.txt", 0o644)
    async with await ProcessSandbox(make_config(scratch=str(tmp_path))).astart() as session:
        result = await session.arun("print(open('input.txt').read())")
        assert result.output == "from the host\n"
    assert (tmp_path / "input.txt").exists()


async def test_read_paths_let_the_code_read_data(
    make_config: Callable[..., SandboxConfig], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "facts.txt").write_text("42")
    os.chmod(tmp_path, 0o755)
    os.chmod(data, 0o755)
    os.chmod(data / "facts.txt", 0o644)
    async with await ProcessSandbox(make_config(read_paths=(str(data),))).astart() as session:
        result = await session.arun(f"print(open({str(data / 'facts.txt')!r}).read())")
        assert result.output == "42\n"
        write = await session.arun(f"open({str(data / 'new.txt')!r}, 'w')")
        assert write.status == "error"


async def test_a_session_runs_one_request_at_a_time(session: ProcessSession) -> None:
    slow = asyncio.ensure_future(session.arun("import time\ntime.sleep(0.5)"))
    await asyncio.sleep(0.1)
    with pytest.raises(SandboxBusyError):
        await session.arun("print(1)")
    assert (await slow).ok


async def test_sessions_run_concurrently(make_config: Callable[..., SandboxConfig]) -> None:
    sandbox = ProcessSandbox(make_config())
    sessions = await asyncio.gather(*(sandbox.astart() for _ in range(3)))
    try:
        started = time.perf_counter()
        results = await asyncio.gather(
            *(s.arun(f"import time\ntime.sleep(1)\nprint({i})") for i, s in enumerate(sessions))
        )
        assert time.perf_counter() - started < 2.5  # one after the other would take 3 s
        assert [r.output for r in results] == ["0\n", "1\n", "2\n"]
        uids = {s.uid for s in sessions}
        assert len(uids) == len(sessions)  # a fresh uid each (None thrice when not dropped)
    finally:
        await asyncio.gather(*(s.aclose() for s in sessions))


def test_sync_shells_work_inside_and_outside_an_event_loop(sync_session: ProcessSession) -> None:
    sync_session.set("x", [1, 2])
    assert sync_session.run("x.append(3)\nprint(x)").output == "[1, 2, 3]\n"
    assert sync_session.get("x") == [1, 2, 3]

    async def inside() -> str:
        return sync_session.run("print('from a loop')").output

    assert asyncio.run(inside()) == "from a loop\n"


async def test_variables_that_cannot_cross(session: ProcessSession) -> None:
    with pytest.raises(SandboxValueError, match="JSON"):
        await session.aset("x", {1, 2})
    with pytest.raises(SandboxValueError, match="identifier"):
        await session.aset("not a name", 1)
    with pytest.raises(SandboxValueError, match="no variable named 'nope'"):
        await session.aget("nope")
    await session.arun("t = (1, 'a')")
    assert await session.aget("t") == [1, "a"]


async def test_messages_past_the_limit_are_refused(
    make_config: Callable[..., SandboxConfig],
) -> None:
    limits = Limits(timeout=5.0, message_bytes=4096)
    async with await ProcessSandbox(make_config(limits=limits)).astart(
        {"echo": lambda s: s}
    ) as session:
        result = await session.arun("echo('x' * 10_000)")
        assert result.error is not None and result.error.type == "ValueError"
        assert "limit is 4096" in result.error.message
        await session.arun("big = 'y' * 10_000")
        with pytest.raises(SandboxValueError, match="bytes as JSON"):
            await session.aget("big")
        assert (await session.arun("print('fine')")).output == "fine\n"


async def test_a_timeout_interrupts_a_waiting_host_call(
    make_config: Callable[..., SandboxConfig],
) -> None:
    async def forever() -> None:
        await asyncio.sleep(60)

    async with await ProcessSandbox(make_config()).astart({"forever": forever}) as session:
        result = await session.arun("forever()", timeout=0.5)
        assert result.status == "timeout" and not result.ended
        assert result.calls == 1
        assert (await session.arun("print('next')")).output == "next\n"


async def test_late_calls_from_background_threads_are_refused(
    make_config: Callable[..., SandboxConfig],
) -> None:
    calls: list[int] = []
    async with await ProcessSandbox(make_config()).astart({"note": calls.append}) as session:
        code = textwrap.dedent(
            """
            import threading, time
            def later():
                time.sleep(0.3)
                try:
                    note(1)
                except HostError as exc:
                    late.append(str(exc))
            late = []
            threading.Thread(target=later).start()
            """
        )
        assert (await session.arun(code)).ok
        await asyncio.sleep(0.6)
        result = await session.arun("print(late)")
        assert "no code block is running" in result.output
        assert calls == []


async def test_functions_can_be_added_and_survive_restarts(session: ProcessSession) -> None:
    await session.adefine([HostFunction.from_callable(lambda: "pong", name="ping")])
    assert (await session.arun("print(ping())")).output == "pong\n"
    with pytest.raises(ConfigError, match="already has"):
        await session.adefine({"ping": lambda: 1})
    await session.arestart()
    assert (await session.arun("print(ping())")).output == "pong\n"


def test_host_function_definitions_are_checked() -> None:
    with pytest.raises(ConfigError, match="identifier"):
        HostFunction(name="not ok", handler=print)
    with pytest.raises(ConfigError, match="share the name"):
        ProcessSandbox().start([print, print])
    described = HostFunction.from_callable(lambda prompt: prompt, name="ask").describe()
    assert described.startswith("def ask(prompt):")


async def test_tools_are_functions_in_the_code(make_config: Callable[..., SandboxConfig]) -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add two integers.

        Args:
            a: The first addend.
            b: The second addend.
        """
        return a + b

    @tool
    def stamp() -> object:
        """An object that is not JSON."""
        return object()

    functions = tool_functions([add, stamp])
    assert functions[0].signature == "(a: int, b: int)"
    async with await ProcessSandbox(make_config()).astart(functions) as session:
        assert (await session.arun("print(add(2, b=3))")).output == "5\n"
        bad = await session.arun("add('x', 1)")
        assert bad.error is not None and "invalid arguments for 'add'" in bad.error.message
        assert (await session.arun("add(1, a=2)")).error is not None
        assert (await session.arun("print(type(stamp()).__name__)")).output == "str\n"


async def test_an_ended_or_closed_session_raises(session: ProcessSession) -> None:
    result = await session.arun("import os\nos._exit(0)")
    assert result.ended and not session.alive
    with pytest.raises(SandboxEndedError, match="arestart"):
        await session.aget("x")
    await session.arestart()
    assert session.alive
    await session.aclose()
    with pytest.raises(SandboxEndedError, match="closed"):
        await session.arestart()
    with pytest.raises(ConfigError):
        ProcessSandbox().config.__class__(uid=-1)


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="timeout"):
        Limits(timeout=0)
    with pytest.raises(ConfigError, match="processes"):
        Limits(processes=0)
    with pytest.raises(ConfigError, match="unknown layers"):
        Layers(require=("moat",))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="env"):
        SandboxConfig(env={"A": 1})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="not one string"):
        SandboxConfig(read_paths="/data")  # type: ignore[arg-type]


def _gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # A zombie child of ours has exited too.
        try:
            with open(f"/proc/{pid}/status") as status:
                if "State:\tZ" in status.read():
                    return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def test_a_leaked_session_is_killed_when_collected(
    make_config: Callable[..., SandboxConfig],
) -> None:
    session = ProcessSandbox(make_config(layers=BARE)).start()
    pid = session.pid
    assert pid is not None
    del session
    gc.collect()
    assert _gone(pid)


def test_the_worker_dies_with_its_host() -> None:
    """The parent-death signal: a host killed with SIGKILL takes its worker along."""
    script = textwrap.dedent(
        """
        import sys, time
        from hone.sandbox import ProcessSandbox
        session = ProcessSandbox().start()
        print(session.run("import os\\nprint(os.getpid())").output.strip(), session.pid, flush=True)
        time.sleep(60)
        """
    )
    host = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert host.stdout is not None
        line = host.stdout.readline().split()
        worker = int(line[1])
    finally:
        host.kill()
        host.wait()
    assert _gone(worker)
