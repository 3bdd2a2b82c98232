"""The sandbox protocol: a :class:`Sandbox` starts :class:`SandboxSession` s, and a session
runs code blocks in one persistent namespace; what a block did is an :class:`ExecResult`.

Everything the *code* does wrong is a value (an error, a timeout, a crash, an escape the
layers stopped); only the developer's misuse raises (``hone.sandbox`` errors).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

from hone.sandbox._functions import HostFunction
from hone.sandbox._report import SandboxReport

__all__ = ["ExecError", "ExecResult", "ExecStatus", "Sandbox", "SandboxSession"]

#: How a code block ended: ran to the end; raised; ran past its time limit; took the
#: worker down with it (a crash, a kill, the CPU limit, a broken protocol).
ExecStatus: TypeAlias = Literal["ok", "error", "timeout", "crashed"]


@dataclass(frozen=True, slots=True)
class ExecError:
    """What went wrong in a block: the exception's type and message and the traceback of
    the code's own frames (for timeouts and crashes, what the host saw)."""

    type: str
    message: str
    traceback: str = ""


@dataclass(frozen=True, slots=True)
class ExecResult:
    """The outcome of one code block.

    Attributes:
        status: see :data:`ExecStatus`.
        output: what the block printed (stdout and stderr, its child processes' too), cut to
            the session's ``Limits.output_chars`` with a marker in the middle.
        error: what went wrong (None when ``status`` is ``"ok"``).
        output_chars: characters printed in all (more than ``len(output)`` when cut).
        duration_s: wall-clock seconds, host-function calls included.
        calls: host-function calls the block made.
        ended: the worker is gone after this block: its variables are lost, and the session
            must be restarted (``arestart()``) before the next block.
    """

    status: ExecStatus
    output: str
    error: ExecError | None = None
    output_chars: int = 0
    duration_s: float = 0.0
    calls: int = 0
    ended: bool = False

    @property
    def ok(self) -> bool:
        """Whether the block ran to the end without raising."""
        return self.status == "ok"

    @property
    def truncated(self) -> bool:
        """Whether ``output`` was cut."""
        return self.output_chars > len(self.output)

    def observation(self) -> str:
        """The block's outcome as a model should read it: the output, the traceback, and a
        note on a timeout or a lost session."""
        parts = [self.output.rstrip("\n")] if self.output.strip() else []
        if self.error is not None:
            if self.error.traceback:
                parts.append(self.error.traceback.rstrip("\n"))
            if self.status != "error" or not self.error.traceback:
                parts.append(f"[{self.error.type}: {self.error.message}]")
        if self.ended:
            parts.append(
                "[the sandbox was restarted: variables and imports from earlier blocks are gone]"
            )
        return "\n".join(parts) if parts else "(no output)"


@runtime_checkable
class SandboxSession(Protocol):
    """A running worker with one persistent namespace (variables survive between blocks)."""

    @property
    def report(self) -> SandboxReport:
        """The layers that confine the worker."""
        ...

    @property
    def alive(self) -> bool:
        """Whether the worker runs (False after a crash, a kill, or ``aclose``)."""
        ...

    async def arun(self, code: str, *, timeout: float | None = None) -> ExecResult:
        """Run a code block (``timeout``: this block's limit, else the session's)."""
        ...

    async def aget(self, name: str) -> Any:
        """A variable's value, as JSON crosses back to the host."""
        ...

    async def aset(self, name: str, value: Any) -> None:
        """Set a variable to a JSON value."""
        ...

    async def arestart(self) -> None:
        """Start a fresh worker (empty namespace, same functions and scratch folder)."""
        ...

    async def aclose(self) -> None:
        """End the worker and everything it started; idempotent."""
        ...


@runtime_checkable
class Sandbox(Protocol):
    """Starts sessions: a configuration, not a process."""

    async def astart(self, functions: Sequence[HostFunction] = ()) -> SandboxSession:
        """A new session whose code can call ``functions`` (run on the host)."""
        ...
