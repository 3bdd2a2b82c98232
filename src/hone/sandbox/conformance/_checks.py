"""The conformance checks, one coroutine per behaviour."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hone.errors import SandboxEndedError, SandboxValueError
from hone.sandbox._functions import HostFunction
from hone.sandbox._protocol import Sandbox, SandboxSession

__all__ = ["CHECKS", "SandboxHarness", "arun_all", "arun_check"]


@dataclass(frozen=True)
class SandboxHarness:
    """How the checks get a sandbox, and what they may expect of it.

    Attributes:
        make: a sandbox to check (each check starts its own session and closes it).
        output_chars: the printed characters a block keeps (its ``Limits.output_chars``).
        timeout: a block limit short enough for the timeout check, in seconds.
    """

    make: Callable[[], Sandbox]
    output_chars: int = 2_000
    timeout: float = 1.0


def expect(condition: bool, message: str) -> None:
    """Raise AssertionError with ``message`` unless ``condition`` holds."""
    if not condition:
        raise AssertionError(message)


async def _double(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


def _fail(reason: str) -> None:
    raise ValueError(reason)


async def _slow() -> None:
    await asyncio.sleep(30)


_FUNCTIONS = (
    HostFunction.from_callable(_double, name="double"),
    HostFunction.from_callable(lambda *words: " ".join(words), name="join"),
    HostFunction.from_callable(_fail, name="fail"),
    HostFunction.from_callable(_slow, name="slow", timeout=0.2),
)

Check = Callable[[SandboxSession, SandboxHarness], Awaitable[None]]


async def persistent_namespace(session: SandboxSession, harness: SandboxHarness) -> None:
    """Variables, functions and imports survive between blocks."""
    first = await session.arun("import math\nx = 20\ndef f(y):\n    return x + y")
    expect(first.ok, f"a plain block failed: {first}")
    second = await session.arun("print(f(math.floor(1.5)))")
    expect(second.output == "21\n", f"the namespace did not persist: {second.output!r}")


async def errors_are_values(session: SandboxSession, harness: SandboxHarness) -> None:
    """An exception is a result with its type and traceback; the session goes on."""
    result = await session.arun("print('before')\n1 / 0")
    expect(result.status == "error", f"status {result.status!r}, expected 'error'")
    expect(result.error is not None and result.error.type == "ZeroDivisionError", f"{result.error}")
    expect("before" in result.output, "output printed before the error was lost")
    expect("ZeroDivisionError" in result.observation(), "the observation hides the error")
    syntax = await session.arun("def broken(:\n    pass")
    expect(syntax.error is not None and syntax.error.type == "SyntaxError", f"{syntax.error}")
    after = await session.arun("print('still here')")
    expect(after.output == "still here\n", "the session did not survive an error")


async def last_expression_is_shown(session: SandboxSession, harness: SandboxHarness) -> None:
    """The value of a block's last expression is printed, as at the Python prompt."""
    result = await session.arun("x = 6\nx * 7")
    expect(result.output == "42\n", f"expected the echo '42\\n', got {result.output!r}")
    quiet = await session.arun("None")
    expect(quiet.output == "", f"None is not echoed, got {quiet.output!r}")


async def output_is_bounded(session: SandboxSession, harness: SandboxHarness) -> None:
    """Long output keeps its start and end within the limit; the total is counted."""
    result = await session.arun("print('a' * 100_000 + 'END')")
    expect(result.ok, f"{result}")
    expect(result.truncated and result.output_chars == 100_004, f"counted {result.output_chars}")
    expect(len(result.output) <= harness.output_chars + 100, f"kept {len(result.output)} chars")
    expect(result.output.rstrip().endswith("END"), "the end of the output was not kept")


async def host_functions(session: SandboxSession, harness: SandboxHarness) -> None:
    """Code calls host functions (sync and async) with JSON arguments and gets values."""
    result = await session.arun("print(double(21), join('a', 'b'), double(x=2))")
    expect(result.output == "42 a b 4\n", f"got {result.output!r} ({result.error})")
    expect(result.calls == 3, f"{result.calls} calls counted, expected 3")


async def host_function_errors(session: SandboxSession, harness: SandboxHarness) -> None:
    """A host function that raises, times out or gets bad arguments raises in the code."""
    result = await session.arun(
        "try:\n    fail('no reason')\nexcept HostError as e:\n    print('caught', e)"
    )
    expect(result.output == "caught ValueError: no reason\n", f"got {result.output!r}")
    slow = await session.arun("try:\n    slow()\nexcept TimeoutError:\n    print('timed out')")
    expect(slow.output == "timed out\n", f"got {slow.output!r}")
    bad = await session.arun("double({1, 2})")
    expect(bad.error is not None and bad.error.type == "TypeError", f"{bad.error}")


async def variables_cross_as_json(session: SandboxSession, harness: SandboxHarness) -> None:
    """Variables are set and read back as JSON; a missing or non-JSON one is an error."""
    await session.aset("context", {"text": "x" * 10_000, "n": [1, 2.5, None]})
    result = await session.arun("answer = {'ready': True, 'length': len(context['text'])}")
    expect(result.ok, f"{result}")
    value = await session.aget("answer")
    expect(value == {"ready": True, "length": 10_000}, f"read back {value!r}")
    for name, code in (("missing", ""), ("handle", "handle = object()")):
        if code:
            await session.arun(code)
        try:
            await session.aget(name)
        except SandboxValueError:
            continue
        raise AssertionError(f"aget({name!r}) did not raise SandboxValueError")


async def timeouts_leave_the_host_running(session: SandboxSession, harness: SandboxHarness) -> None:
    """A block past its limit ends with status "timeout"; the session goes on or restarts."""
    result = await session.arun("while True:\n    pass", timeout=harness.timeout)
    expect(result.status == "timeout", f"status {result.status!r}, expected 'timeout'")
    if result.ended:
        await session.arestart()
    after = await session.arun("print('alive')")
    expect(after.output == "alive\n", "no block ran after a timeout")


async def crashes_end_the_worker(session: SandboxSession, harness: SandboxHarness) -> None:
    """A block that kills its worker is "crashed" and ``ended``; a restart brings a fresh
    namespace; running an ended session raises SandboxEndedError."""
    await session.arun("kept = 1")
    result = await session.arun("import os\nos._exit(3)")
    expect(result.status == "crashed" and result.ended, f"{result}")
    expect(not session.alive, "the session says it is alive after its worker ended")
    try:
        await session.arun("print(1)")
    except SandboxEndedError:
        pass
    else:
        raise AssertionError("arun on an ended session did not raise SandboxEndedError")
    await session.arestart()
    fresh = await session.arun("print('kept' in globals())")
    expect(fresh.output == "False\n", "a restarted session kept the old variables")


async def close_is_idempotent(session: SandboxSession, harness: SandboxHarness) -> None:
    """Closing twice is fine; a closed session raises SandboxEndedError."""
    await session.aclose()
    await session.aclose()
    expect(not session.alive, "a closed session says it is alive")
    try:
        await session.arun("print(1)")
    except SandboxEndedError:
        return
    raise AssertionError("arun on a closed session did not raise SandboxEndedError")


#: Every check, by name.
CHECKS: dict[str, Check] = {
    check.__name__: check
    for check in (
        persistent_namespace,
        errors_are_values,
        last_expression_is_shown,
        output_is_bounded,
        host_functions,
        host_function_errors,
        variables_cross_as_json,
        timeouts_leave_the_host_running,
        crashes_end_the_worker,
        close_is_idempotent,
    )
}


async def arun_check(harness: SandboxHarness, name: str) -> None:
    """Run one check on a fresh session (closed afterwards).

    Raises:
        KeyError: no check of that name.
        AssertionError: the sandbox does not behave as the check expects.
    """
    check = CHECKS[name]
    session = await harness.make().astart(_FUNCTIONS)
    try:
        await check(session, harness)
    finally:
        await session.aclose()


async def arun_all(harness: SandboxHarness) -> dict[str, Any]:
    """Run every check; ``{name: None or the AssertionError}``."""
    found: dict[str, Any] = {}
    for name in CHECKS:
        try:
            await arun_check(harness, name)
            found[name] = None
        except AssertionError as exc:
            found[name] = exc
    return found
