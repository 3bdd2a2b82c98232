"""The process sandbox: each session is a confined worker process (see docs/sandbox.md)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

from hone._sync import run_sync
from hone.errors import ConfigError, SandboxEndedError, SandboxValueError
from hone.sandbox._config import SandboxConfig
from hone.sandbox._functions import HostFunction, host_functions
from hone.sandbox._launch import Plan, kill_tree, plan, remove_scratch
from hone.sandbox._protocol import ExecResult
from hone.sandbox._report import SandboxReport
from hone.sandbox._session import BOOTSTRAP, WorkerHandle, describe_exit, exec_result, start_worker

__all__ = ["ProcessSandbox", "ProcessSession"]

FunctionsLike = Mapping[str, Any] | Iterable[Any]


class ProcessSandbox:
    """A sandbox whose sessions are confined worker processes (a :class:`Sandbox`).

    ::

        sandbox = ProcessSandbox()
        with sandbox.start({"double": lambda x: 2 * x}) as session:
            session.run("y = double(21)")
            print(session.run("print(y)").output)   # 42
            print(session.report.summary())         # what confines it

    Args:
        config: limits, layers and what the code may see (:class:`SandboxConfig`).
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()

    async def astart(self, functions: FunctionsLike = ()) -> ProcessSession:
        """A new session whose code can call ``functions`` (:class:`HostFunction` s, or
        callables named after themselves or by a mapping's keys).

        Raises:
            SandboxStartError: the worker did not start, or a required layer is missing.
            ConfigError: two functions share a name.
        """
        session = ProcessSession(self.config, host_functions(functions))
        try:
            await session.arestart()
        except BaseException:
            await session.aclose()  # the scratch folder made for it goes too
            raise
        return session

    def start(self, functions: FunctionsLike = ()) -> ProcessSession:
        """The synchronous shell of :meth:`astart`."""
        return run_sync(self.astart(functions))


class ProcessSession:
    """One confined worker and its namespace (a :class:`SandboxSession`).

    Made by :meth:`ProcessSandbox.astart`. Usable as a context manager (sync or async) that
    closes it. A leaked session's worker is killed when the session is garbage-collected or
    the host exits.
    """

    def __init__(self, config: SandboxConfig, functions: Sequence[HostFunction]) -> None:
        self.config = config
        self._functions = {f.name: f for f in functions}
        self._plan: Plan | None = None
        self._handle: WorkerHandle | None = None
        self._report: SandboxReport | None = None
        self._closed = False
        self._finalizer: weakref.finalize[Any, Any] | None = None

    # -- state
    @property
    def report(self) -> SandboxReport:
        """The layers that confine the current worker.

        Raises:
            SandboxEndedError: the session never started.
        """
        if self._report is None:
            raise SandboxEndedError("the session has not started")
        return self._report

    @property
    def alive(self) -> bool:
        """Whether the worker is running (False after a crash, a kill or ``aclose``)."""
        return self._handle is not None and not self._handle.ended and not self._closed

    @property
    def scratch(self) -> str:
        """The code's working folder (also its HOME and TMPDIR)."""
        if self._plan is None:
            raise SandboxEndedError("the session has not started")
        return self._plan.scratch

    @property
    def pid(self) -> int | None:
        """The host pid of the worker (or of bubblewrap around it); None when not running."""
        return self._handle.process.pid if self.alive and self._handle else None

    @property
    def uid(self) -> int | None:
        """The uid the worker runs as when it was dropped from root (None: no drop)."""
        return None if self._plan is None else self._plan.uid

    @property
    def functions(self) -> tuple[HostFunction, ...]:
        """The host functions the code can call."""
        return tuple(self._functions.values())

    def _live(self) -> WorkerHandle:
        if self._closed:
            raise SandboxEndedError("the session is closed")
        if self._handle is None or self._handle.ended:
            why = "" if self._handle is None else f" ({describe_exit(self._handle)})"
            raise SandboxEndedError(
                f"the session's worker has ended{why}; call arestart() for a fresh one"
            )
        return self._handle

    # -- code
    async def arun(self, code: str, *, timeout: float | None = None) -> ExecResult:
        """Run a code block in the session's namespace.

        Args:
            code: Python source; the value of a last expression is printed (``echo``).
            timeout: wall-clock seconds for this block (None: ``Limits.timeout``).

        Returns:
            What it printed and how it ended; never raises for what the code did.

        Raises:
            SandboxEndedError: the worker is gone (``result.ended`` said so) or closed.
            SandboxBusyError: another request is running on this session.
        """
        if not isinstance(code, str):
            raise ConfigError(f"code must be a string, got {type(code).__name__}")
        handle = self._live()
        limit = self.config.limits.timeout if timeout is None else timeout
        if limit is not None and limit <= 0:
            raise ConfigError(f"timeout must be > 0, got {limit}")
        started = time.perf_counter()
        answer, calls, interrupted = await handle.request(
            {"op": "exec", "code": code, "limit": self.config.limits.output_chars},
            timeout=limit,
            grace=self.config.limits.interrupt_grace,
        )
        return exec_result(
            answer, handle, calls=calls, interrupted=interrupted, started=started, timeout=limit
        )

    async def _ask(self, message: dict[str, Any]) -> dict[str, Any]:
        handle = self._live()
        answer, _, _ = await handle.request(
            message, timeout=self.config.limits.timeout, grace=self.config.limits.interrupt_grace
        )
        if answer is None:
            raise SandboxEndedError(
                f"the worker ended during {message['op']}: {describe_exit(handle)}"
            )
        if not answer.get("ok"):
            raise SandboxValueError(str(answer.get("error")))
        return answer

    async def aget(self, name: str) -> Any:
        """The value of variable ``name`` as JSON (dicts, lists, strings, numbers, bools,
        None; tuples come back as lists).

        Raises:
            SandboxValueError: no such variable, or its value is not JSON.
            SandboxEndedError: the worker is gone.
        """
        answer = await self._ask({"op": "get", "name": name})
        return json.loads(answer["json"])

    async def aset(self, name: str, value: Any) -> None:
        """Set variable ``name`` to a JSON value (a long text, a dict of data).

        Raises:
            SandboxValueError: ``value`` is not JSON, or ``name`` not an identifier.
            SandboxEndedError: the worker is gone.
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise SandboxValueError(f"a variable name must be an identifier, got {name!r}")
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise SandboxValueError(f"{name!r} must be set to a JSON value: {exc}") from exc
        await self._ask({"op": "set", "name": name, "value": value})

    async def adefine(self, functions: FunctionsLike) -> None:
        """Offer more host functions to the code (they also survive restarts).

        Raises:
            ConfigError: a name is taken.
            SandboxEndedError: the worker is gone.
        """
        made = host_functions(functions)
        taken = sorted(set(self._functions) & {f.name for f in made})
        if taken:
            raise ConfigError(f"the session already has host functions named {taken}")
        handle = self._live()
        self._functions.update({f.name: f for f in made})
        handle.functions.update({f.name: f for f in made})
        await self._ask({"op": "define", "functions": [f.spec() for f in made]})

    # -- life cycle
    async def arestart(self) -> None:
        """End the worker (if running) and start a fresh one: empty namespace, same host
        functions, same scratch folder and uid.

        Raises:
            SandboxStartError: the worker did not start, or a required layer is missing.
            SandboxEndedError: the session is closed.
        """
        if self._closed:
            raise SandboxEndedError("the session is closed")
        if self._handle is not None:
            await asyncio.to_thread(kill_tree, self._handle.process, self._handle.plan.uid)
        if self._plan is None:
            self._plan = plan(self.config, BOOTSTRAP)
        self._handle = None
        handle, self._report = await start_worker(self._plan, self.config, self._functions)
        self._handle = handle
        if self._finalizer is not None:
            self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _cleanup, handle, self._plan)

    async def aclose(self) -> None:
        """Kill the worker and everything it started, and remove a temporary scratch folder.
        Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._finalizer is not None:
            self._finalizer.detach()
        if self._plan is not None:
            await asyncio.to_thread(_cleanup, self._handle, self._plan)

    # -- sync shells
    def run(self, code: str, *, timeout: float | None = None) -> ExecResult:
        """The synchronous shell of :meth:`arun`."""
        return run_sync(self.arun(code, timeout=timeout))

    def get(self, name: str) -> Any:
        """The synchronous shell of :meth:`aget`."""
        return run_sync(self.aget(name))

    def set(self, name: str, value: Any) -> None:
        """The synchronous shell of :meth:`aset`."""
        run_sync(self.aset(name, value))

    def define(self, functions: FunctionsLike) -> None:
        """The synchronous shell of :meth:`adefine`."""
        run_sync(self.adefine(functions))

    def restart(self) -> None:
        """The synchronous shell of :meth:`arestart`."""
        run_sync(self.arestart())

    def close(self) -> None:
        """The synchronous shell of :meth:`aclose`."""
        run_sync(self.aclose())

    def __enter__(self) -> ProcessSession:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> ProcessSession:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "alive" if self.alive else "ended"
        return f"ProcessSession({state}, pid={self.pid}, scratch={self._plan.scratch if self._plan else None!r})"


def _cleanup(handle: WorkerHandle | None, plan: Plan) -> None:
    """Kill a worker's whole tree and remove its temporary scratch folder."""
    if handle is not None:
        kill_tree(handle.process, plan.uid)
        if handle.process.stdin is not None:
            with contextlib.suppress(OSError):
                handle.process.stdin.close()
    if plan.temporary:
        remove_scratch(plan.scratch)
