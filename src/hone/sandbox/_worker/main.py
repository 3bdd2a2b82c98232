"""The worker's loop: confine itself, then run code blocks in one namespace, with the host's
functions callable from the code.

Protocol: one JSON object per line on private pipes (the descriptors the host gave as stdin
and stdout, moved out of the code's way; the code's own fds 0, 1 and 2 are /dev/null and the
output pipe). Host → worker: ``exec``, ``get``, ``set``, ``define`` (each with an ``id``),
``result`` (the answer to a call), ``interrupt``. Worker → host: ``ready`` (the layers'
report), ``call`` (code called a host function), and one answer per request (``done`` for
``exec``, ``reply`` for the others) with the request's ``id``.
"""

from __future__ import annotations

import ast
import contextlib
import itertools
import json
import linecache
import os
import queue
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from .capture import OutputPipe
from .confine import confine

__all__ = ["HostError", "main"]

_HERE = os.path.dirname(os.path.abspath(__file__))


class HostError(Exception):
    """A host function failed; its message says why (shown to the code that called it)."""


# Tracebacks name it as the code knows it (a builtin-like name), not by this module.
HostError.__module__ = "builtins"


class _Lines:
    """Reads newline-terminated lines from a file descriptor, without reading ahead of the
    caller's needs in a way another reader would miss."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = b""

    def readline(self) -> bytes:
        while b"\n" not in self._buffer:
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                return b""
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line


class _Channel:
    """The protocol pipes: locked writes, and answers to calls routed to their callers."""

    def __init__(self, lines: _Lines, out_fd: int, max_message: int) -> None:
        self.lines = lines
        self.out_fd = out_fd
        self.max_message = max_message
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._waiting: dict[int, tuple[threading.Event, list[Any]]] = {}
        self.requests: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def send(self, message: Mapping[str, Any]) -> None:
        data = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        with self._lock:
            view = memoryview(data)
            while view:
                view = view[os.write(self.out_fd, view) :]

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call host function ``name`` and wait for its answer (thread-safe)."""
        call_id = next(self._ids)
        try:
            data = json.dumps(
                {"op": "call", "id": call_id, "fn": name, "args": args, "kwargs": kwargs},
                separators=(",", ":"),
            )
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name}(): arguments must be JSON values ({exc})") from None
        if len(data) >= self.max_message:
            raise ValueError(
                f"{name}(): the arguments take {len(data)} bytes; the limit is {self.max_message}"
            )
        done = threading.Event()
        slot: list[Any] = []
        self._waiting[call_id] = (done, slot)
        try:
            with self._lock:
                view = memoryview(data.encode() + b"\n")
                while view:
                    view = view[os.write(self.out_fd, view) :]
            done.wait()
        finally:
            self._waiting.pop(call_id, None)
        answer: dict[str, Any] = slot[0]
        if answer.get("ok"):
            return answer.get("value")
        message = str(answer.get("error", "the host function failed"))
        if answer.get("kind") == "timeout":
            raise TimeoutError(message)
        raise HostError(message)

    def read_forever(self, on_interrupt: Callable[[], None]) -> None:
        """Route what the host sends until it closes the pipe (then the worker exits)."""
        while True:
            line = self.lines.readline()
            if not line:
                os._exit(0)
            try:
                message = json.loads(line)
                op = message.get("op")
            except (ValueError, AttributeError):
                os._exit(4)  # the host never sends this: nothing sensible is left to do
            if op == "result":
                waiting = self._waiting.get(message.get("id"))
                if waiting is not None:
                    waiting[1].append(message)
                    waiting[0].set()
            elif op == "interrupt":
                on_interrupt()
            else:
                self.requests.put(message)


class _Worker:
    """One namespace, the code blocks run in it, and the functions the host offers."""

    def __init__(self, channel: _Channel, output: OutputPipe, config: Mapping[str, Any]) -> None:
        self.channel = channel
        self.output = output
        self.pid = os.getpid()
        self.echo = bool(config.get("echo", True))
        self.namespace: dict[str, Any] = {"__name__": "__main__", "HostError": HostError}
        self._cells = itertools.count(1)
        self._busy = threading.Lock()
        self._running = False
        self._main_thread = threading.get_ident()
        self.define(config.get("functions") or [])

    # -- interrupts: SIGINT at the main thread, honoured only while a block runs
    def interrupt(self) -> None:
        with self._busy:
            if self._running:
                signal.pthread_kill(self._main_thread, signal.SIGINT)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self._running:
            raise KeyboardInterrupt

    def define(self, functions: list[Mapping[str, Any]]) -> None:
        for spec in functions:
            self.namespace[spec["name"]] = self._stub(spec)

    def _stub(self, spec: Mapping[str, Any]) -> Callable[..., Any]:
        name = str(spec["name"])
        channel = self.channel

        def stub(*args: Any, **kwargs: Any) -> Any:
            return channel.call(name, args, kwargs)

        stub.__name__ = stub.__qualname__ = name
        stub.__doc__ = f"{name}{spec.get('signature', '(...)')}\n\n{spec.get('doc', '')}".strip()
        return stub

    def run(self, code: str, limit: int) -> dict[str, Any]:
        cell = f"<cell {next(self._cells)}>"
        linecache.cache[cell] = (len(code), None, code.splitlines(True), cell)
        self.output.begin(limit)
        signal.signal(signal.SIGINT, self._on_sigint)
        error = None
        try:
            with self._busy:
                self._running = True
            error = self._execute(code, cell)
        except BaseException as exc:  # an interrupt between the block and the flag
            error = _describe(exc)
        finally:
            with self._busy:
                self._running = False
        if os.getpid() != self.pid:
            os._exit(0)  # a child the code forked ran off the end of the block
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        captured = self.output.finish()
        return {
            "ok": error is None,
            "output": captured.text(),
            "chars": captured.total,
            "error": error,
        }

    def _execute(self, code: str, cell: str) -> dict[str, Any] | None:
        try:
            tree = ast.parse(code, cell, "exec")
            last = None
            if self.echo and tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body[-1].value)
                del tree.body[-1]
            exec(compile(tree, cell, "exec"), self.namespace)
            if last is not None:
                value = eval(compile(last, cell, "eval"), self.namespace)
                if value is not None:
                    print(repr(value))
        except BaseException as exc:
            return _describe(exc)
        return None

    def get(self, name: str) -> Any:
        if name not in self.namespace:
            raise KeyError(f"no variable named {name!r} in the session")
        return self.namespace[name]

    def handle(self, message: Mapping[str, Any]) -> dict[str, Any]:
        op = message.get("op")
        if op == "exec":
            return {"op": "done", **self.run(str(message["code"]), int(message["limit"]))}
        try:
            if op == "get":
                value = self.get(str(message["name"]))
                answer = json.dumps(value, separators=(",", ":"))
                if len(answer) >= self.channel.max_message:
                    raise ValueError(f"{message['name']!r} takes {len(answer)} bytes as JSON")
                return {"op": "reply", "ok": True, "json": answer}
            if op == "set":
                self.namespace[str(message["name"])] = message.get("value")
            elif op == "define":
                self.define(list(message.get("functions") or []))
            else:
                raise ValueError(f"unknown request {op!r}")
        except Exception as exc:
            return {"op": "reply", "ok": False, "error": f"{type(exc).__name__}: {exc}"}
        return {"op": "reply", "ok": True}


def _describe(exc: BaseException) -> dict[str, Any]:
    """The error as the code's author should see it: the traceback without the worker's
    own frames."""
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not os.path.abspath(frame.filename).startswith(_HERE)
    ]
    lines = (
        ["Traceback (most recent call last):\n", *traceback.format_list(frames)] if frames else []
    )
    lines += traceback.format_exception_only(type(exc), exc)
    message = str(exc)
    if isinstance(exc, KeyboardInterrupt):
        message = "interrupted: the code block ran past its time limit"
    elif isinstance(exc, SystemExit):
        message = "the code called exit(); the session goes on"
    return {"type": type(exc).__name__, "message": message, "traceback": "".join(lines)}


def _setup_fds() -> tuple[_Lines, int, int]:
    """Move the protocol pipes to private descriptors; fd 0 becomes /dev/null."""
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    diagnostics = os.dup(2)
    for fd in (proto_in, proto_out, diagnostics):
        os.set_inheritable(fd, False)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return _Lines(proto_in), proto_out, diagnostics


def main() -> None:
    """The worker's entry point (the host starts it with ``python -I -c``)."""
    lines, proto_out, diagnostics = _setup_fds()
    config = json.loads(lines.readline() or b"{}")
    output = OutputPipe(int(config.get("output_limit", 20_000)))
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    channel = _Channel(lines, proto_out, int(config.get("max_message", 1 << 25)))
    try:
        layers = confine(config)
    except BaseException as exc:
        os.write(diagnostics, f"sandbox worker: confinement failed: {exc!r}\n".encode())
        channel.send({"op": "failed", "error": f"{type(exc).__name__}: {exc}"})
        os._exit(3)
    worker = _Worker(channel, output, config)
    threading.Thread(
        target=channel.read_forever, args=(worker.interrupt,), name="hone-sandbox-rpc", daemon=True
    ).start()
    channel.send({"op": "ready", "pid": os.getpid(), "layers": layers})
    while True:
        message = channel.requests.get()
        if message is None:
            return
        answer = worker.handle(message)
        channel.send({**answer, "id": message.get("id")})
