"""The host's side of one worker: pipes read by threads with bounds, requests answered in
order, host-function calls served while a block runs, timeouts that interrupt and then kill.

The session does its pipe I/O on threads, not on an event loop, so one session can be used
from any loop (each ``run_sync`` call makes a fresh one) and from plain threads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import json
import logging
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hone.errors import SandboxBusyError, SandboxStartError
from hone.sandbox._config import SandboxConfig
from hone.sandbox._functions import HostFunction
from hone.sandbox._launch import WORKER_DIR, Plan, kill_tree
from hone.sandbox._protocol import ExecError, ExecResult, ExecStatus
from hone.sandbox._report import LAYERS, LayerStatus, SandboxReport

__all__ = ["BOOTSTRAP", "WorkerHandle", "describe_exit", "start_worker"]

logger = logging.getLogger(__name__)

#: What the worker's interpreter runs: the worker package without importing hone.
BOOTSTRAP = (
    f"import sys; sys.path.insert(0, {str(WORKER_DIR.parent)!r}); "
    "import _worker.main as m; del sys.path[0]; m.main()"
)
_END: dict[str, Any] = {"op": "__end__"}
_STDERR_KEPT = 8192
_WRITE_STALL_S = 10.0


@dataclass(eq=False)
class WorkerHandle:
    """One worker process and the threads that read it."""

    process: subprocess.Popen[bytes]
    plan: Plan
    functions: dict[str, HostFunction]
    call_timeout: float | None
    ready: concurrent.futures.Future[dict[str, Any]] = field(
        default_factory=concurrent.futures.Future
    )
    ended: bool = False
    problem: str = ""
    stderr_tail: bytes = b""
    _pump: tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _write_lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- reading (threads)
    def start_readers(self, max_message: int) -> None:
        assert self.process.stdout is not None and self.process.stderr is not None
        os.set_blocking(self.process.stdin.fileno(), False)  # type: ignore[union-attr]
        threading.Thread(
            target=self._read_messages,
            args=(self.process.stdout.fileno(), max_message),
            name="hone-sandbox-reader",
            daemon=True,
        ).start()
        threading.Thread(
            target=self._read_stderr,
            args=(self.process.stderr.fileno(),),
            name="hone-sandbox-stderr",
            daemon=True,
        ).start()

    def _read_messages(self, fd: int, max_message: int) -> None:
        buffer = bytearray()
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            start = len(buffer)
            buffer += chunk
            while (newline := buffer.find(b"\n", start)) >= 0:
                line = bytes(buffer[:newline])
                del buffer[: newline + 1]
                start = 0
                if not self._deliver(line):
                    return self._finish()
            if len(buffer) > max_message:
                self._violate(f"the worker sent a message longer than {max_message} bytes")
                return self._finish()
        self._finish()

    def _read_stderr(self, fd: int) -> None:
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                return
            if not chunk:
                break
            self.stderr_tail = (self.stderr_tail + chunk)[-_STDERR_KEPT:]
        _close(self.process.stderr)

    def _deliver(self, line: bytes) -> bool:
        try:
            message = json.loads(line)
            op = message["op"]
        except (ValueError, TypeError, KeyError):
            self._violate(f"the worker broke the protocol (sent {line[:80]!r})")
            return False
        if op in ("ready", "failed"):
            if not self.ready.done():
                self.ready.set_result(message)
            return True
        with self._lock:
            pump = self._pump
        if pump is not None:
            loop, queue = pump
            with contextlib.suppress(RuntimeError):  # that loop has closed
                loop.call_soon_threadsafe(queue.put_nowait, message)
        elif op == "call":
            error = "no code block is running: host functions answer only while one runs"
            self.send({"op": "result", "id": message.get("id"), "ok": False, "error": error})
        return True

    def _violate(self, problem: str) -> None:
        self.problem = self.problem or problem
        logger.warning("sandbox worker %d: %s; killing it", self.process.pid, problem)
        kill_tree(self.process, self.plan.uid)

    def _finish(self) -> None:
        # The worker closed its pipe: whatever is left of it goes.
        kill_tree(self.process, self.plan.uid)
        _close(self.process.stdout)
        self.ended = True
        if not self.ready.done():
            self.ready.set_result(_END)
        with self._lock:
            pump = self._pump
        if pump is not None:
            with contextlib.suppress(RuntimeError):
                pump[0].call_soon_threadsafe(pump[1].put_nowait, _END)

    # -- writing
    def send(self, message: Mapping[str, Any]) -> bool:
        """Write one message; False when the worker is gone or stalled (then it is killed)."""
        return self._write(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    async def asend(self, message: Mapping[str, Any]) -> bool:
        """:meth:`send`, off the event loop when the message is large."""
        data = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        if len(data) > 1 << 16:
            return await asyncio.to_thread(self._write, data)
        return self._write(data)

    def _write(self, data: bytes) -> bool:
        stdin = self.process.stdin
        if stdin is None or self.ended:
            return False
        with self._write_lock:
            view = memoryview(data)
            deadline = time.monotonic() + _WRITE_STALL_S
            while view:
                try:
                    view = view[os.write(stdin.fileno(), view) :]
                except BlockingIOError:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        self._violate("the worker stopped reading its input")
                        return False
                    select.select([], [stdin], [], remaining)
                except (OSError, ValueError):
                    return False
        return True

    # -- requests
    async def request(
        self, message: dict[str, Any], *, timeout: float | None, grace: float
    ) -> tuple[dict[str, Any] | None, int, bool]:
        """Send a request and serve host-function calls until its answer comes.

        Returns (the answer or None when the worker ended, calls served, whether the request
        ran past ``timeout`` and was interrupted).
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        with self._lock:
            if self._pump is not None:
                raise SandboxBusyError(
                    "this session is running another request; a session runs one at a time"
                )
            self._pump = (loop, queue)
        message = {**message, "id": next(self._ids)}
        tasks: set[asyncio.Task[None]] = set()
        calls, interrupted = 0, False
        try:
            if self.ended or not await self.asend(message):
                return None, 0, False
            deadline = None if timeout is None else loop.time() + timeout
            while True:
                remaining = None if deadline is None else max(deadline - loop.time(), 0.0)
                try:
                    answer = await asyncio.wait_for(queue.get(), remaining)
                except TimeoutError:
                    if interrupted:
                        await asyncio.to_thread(kill_tree, self.process, self.plan.uid)
                        self.ended = True
                        return None, calls, True
                    interrupted = True
                    self.send({"op": "interrupt"})
                    deadline = loop.time() + grace
                    continue
                if answer is _END:
                    return None, calls, interrupted
                if answer.get("op") == "call":
                    calls += 1
                    task = asyncio.ensure_future(self._serve(answer))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                elif answer.get("id") == message["id"]:
                    return answer, calls, interrupted
        finally:
            with self._lock:
                self._pump = None
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _serve(self, call: Mapping[str, Any]) -> None:
        name = str(call.get("fn"))
        function = self.functions.get(name)
        reply: dict[str, Any] = {"op": "result", "id": call.get("id"), "ok": False}
        if function is None:
            reply["error"] = f"NameError: no host function named {name!r}"
            await self.asend(reply)
            return
        limit = function.timeout if function.timeout is not None else self.call_timeout
        scope = asyncio.timeout(limit)
        try:
            async with scope:
                value = await function.acall(call.get("args") or [], call.get("kwargs") or {})
            json.dumps(value)
            reply.update(ok=True, value=value)
        except TimeoutError as exc:
            if not scope.expired():
                reply["error"] = f"TimeoutError: {exc}"
            else:
                reply.update(kind="timeout", error=f"{name}() took longer than {limit:g}s")
        except (TypeError, ValueError) as exc:
            reply["error"] = f"{type(exc).__name__}: {exc}"
        except Exception as exc:
            logger.info("host function %s raised", name, exc_info=exc)
            reply["error"] = f"{type(exc).__name__}: {exc}"
        await self.asend(reply)


def _close(stream: Any) -> None:
    if stream is not None:
        with contextlib.suppress(OSError):
            stream.close()


def describe_exit(handle: WorkerHandle) -> str:
    """Why a worker ended, in words."""
    if handle.problem:
        return handle.problem
    code = handle.process.poll()
    if code is None:
        return "the worker stopped answering"
    signum = -code if code < 0 else code - 128 if handle.plan.bubblewrap and code > 128 else 0
    if signum:
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        why = {
            "SIGXCPU": " (the CPU time limit, Limits.cpu_seconds)",
            "SIGSEGV": " (a crash, e.g. recursion deeper than the stack)",
        }.get(name, "")
        return f"the worker was killed by {name}{why}"
    return f"the worker exited with status {code}"


def _report(handle: WorkerHandle, config: SandboxConfig, ready: Mapping[str, Any]) -> SandboxReport:
    plan = handle.plan
    limits = config.limits
    found: dict[str, LayerStatus] = {}
    for item in ready.get("layers", ()):
        if item["layer"] in LAYERS:
            found[item["layer"]] = LayerStatus(item["layer"], bool(item["applied"]), item["detail"])
    killed = " and every process of its uid" if plan.uid is not None else ""
    host = {
        "session": (True, f"its own session and process group, killed as a whole{killed}"),
        "environment": (True, f"only {', '.join(sorted(plan.env))}"),
        "scratch": (True, f"works in {plan.scratch}" + (" (temporary)" if plan.temporary else "")),
        "output_bounds": (
            True,
            f"{limits.output_chars} printed characters per block, messages up to "
            f"{limits.message_bytes} bytes",
        ),
    }
    for layer, (applied, detail) in host.items():
        found[layer] = LayerStatus(layer, applied, detail)  # type: ignore[arg-type]
    if plan.uid is None:
        note = found["uid_drop"].detail if "uid_drop" in found else ""
        detail = (
            f"{plan.uid_note}; {note}" if note.startswith("all capabilities") else plan.uid_note
        )
        found["uid_drop"] = LayerStatus("uid_drop", False, detail)
    if plan.bubblewrap is None:
        for layer in ("user_namespace", "mount_namespace", "net_namespace", "pid_namespace"):
            found[layer] = LayerStatus(layer, False, plan.bubblewrap_note)  # type: ignore[arg-type]
    layers = tuple(found.get(name, LayerStatus(name, False, "not reported")) for name in LAYERS)
    return SandboxReport(
        layers=layers,
        kernel=os.uname().release,
        host_uid=os.geteuid(),
        bubblewrap=plan.bubblewrap,
    )


async def start_worker(
    plan: Plan, config: SandboxConfig, functions: Mapping[str, HostFunction]
) -> tuple[WorkerHandle, SandboxReport]:
    """Spawn a worker, send its configuration, and wait until it has confined itself.

    Raises:
        SandboxStartError: it did not start in time, failed to confine itself, or a layer
            ``config.layers.require`` names did not apply.
    """
    from hone.sandbox._launch import spawn

    process = await asyncio.to_thread(spawn, plan.argv, plan.env, plan.scratch)
    handle = WorkerHandle(
        process=process,
        plan=plan,
        functions=dict(functions),
        call_timeout=config.limits.call_timeout,
    )
    handle.start_readers(config.limits.message_bytes)
    first = {**plan.worker_config, "functions": [f.spec() for f in functions.values()]}
    handle.send(first)
    try:
        ready = await asyncio.wait_for(
            asyncio.wrap_future(handle.ready), config.limits.start_timeout
        )
    except TimeoutError:
        await asyncio.to_thread(kill_tree, process, plan.uid)
        raise SandboxStartError(
            f"the sandbox worker did not start within {config.limits.start_timeout}s"
        ) from None
    if ready.get("op") != "ready":
        await asyncio.to_thread(kill_tree, process, plan.uid)
        stderr = handle.stderr_tail.decode(errors="replace").strip()
        why = ready.get("error") or describe_exit(handle)
        raise SandboxStartError(f"the sandbox worker did not start: {why}\n{stderr}".strip())
    report = _report(handle, config, ready)
    missing = [layer for layer in config.layers.require if not report.applied(layer)]
    if missing:
        await asyncio.to_thread(kill_tree, process, plan.uid)
        lines = "\n".join(f"- {m}: {report.status(m).detail}" for m in missing)
        raise SandboxStartError(f"required sandbox layers did not apply here:\n{lines}")
    return handle, report


def exec_result(
    answer: dict[str, Any] | None,
    handle: WorkerHandle,
    *,
    calls: int,
    interrupted: bool,
    started: float,
    timeout: float | None,
) -> ExecResult:
    """The :class:`ExecResult` of a block from the worker's answer (None: it ended)."""
    duration = time.perf_counter() - started
    status: ExecStatus
    error: ExecError | None
    if answer is None:
        if interrupted:
            limit = f"{timeout:g}s" if timeout is not None else "time"
            error = ExecError("Timeout", f"the block ran past its {limit} limit and was killed")
            status = "timeout"
        else:
            error = ExecError("SandboxCrash", describe_exit(handle))
            status = "crashed"
        return ExecResult(status, "", error, duration_s=duration, calls=calls, ended=True)
    raw = answer.get("error")
    error = None if raw is None else ExecError(raw["type"], raw["message"], raw["traceback"])
    if answer.get("ok"):
        status = "ok"
    elif interrupted and error is not None and error.type == "KeyboardInterrupt":
        status = "timeout"
        limit = f"{timeout:g}s" if timeout is not None else "time"
        message = f"the block ran past its {limit} limit and was interrupted"
        error = ExecError("Timeout", message, error.traceback)
    else:
        status = "error"
    return ExecResult(
        status,
        str(answer.get("output", "")),
        error,
        output_chars=int(answer.get("chars", 0)),
        duration_s=duration,
        calls=calls,
    )
