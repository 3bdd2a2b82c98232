"""``ShellSession``: one long-lived shell process that runs commands one after another, for
:class:`~hone.agents.middleware.ShellToolMiddleware`.

Each command is written to the shell's stdin followed by a ``printf`` of a unique marker and
``$?``; reader threads queue the stdout and stderr lines, and output is collected until the
marker comes back (stderr lines labelled ``[stderr]``), cut to the policy's line and byte
limits. A command past its timeout restarts the shell; a command that ends the shell
(``exit 3``) reports its status at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from hone.agents.middleware._shell_execution import BaseExecutionPolicy, ShellProcess

__all__ = ["CommandExecutionResult", "ShellSession"]

logger = logging.getLogger(__name__)


_MARKER_PREFIX = "__HONE_SHELL_DONE__"
#: Seconds to wait for stderr lines still in flight when the marker arrives on stdout, and
#: for output still queued when the shell exited under a command (``exit 1``).
_STDERR_GRACE = 0.05
_EXIT_GRACE = 0.1


@dataclass(frozen=True)
class CommandExecutionResult:
    """What one command did: its kept output, exit status (None when unknown), whether it
    timed out, whether output was cut, and how much there was in all."""

    output: str
    exit_code: int | None
    timed_out: bool
    truncated_by_lines: bool
    truncated_by_bytes: bool
    total_lines: int
    total_bytes: int


@dataclass
class _Output:
    """Output lines of one command as they arrive, kept up to the policy's limits."""

    max_lines: int
    max_bytes: int | None
    parts: list[str] = field(default_factory=list)
    lines: int = 0
    size: int = 0
    cut_lines: bool = False
    cut_bytes: bool = False

    def add(self, source: str, line: str) -> None:
        self.lines += 1
        self.size += len(line.encode("utf-8", "replace"))
        if self.lines > self.max_lines:
            self.cut_lines = True
        elif self.max_bytes is not None and self.size > self.max_bytes:
            self.cut_bytes = True
        elif source == "stderr":
            self.parts.append(f"[stderr] {line.rstrip(chr(10))}")
            if line.endswith("\n"):
                self.parts.append("\n")
        else:
            self.parts.append(line)

    def result(self, exit_code: int | None, *, timed_out: bool = False) -> CommandExecutionResult:
        return CommandExecutionResult(
            output="" if timed_out else "".join(self.parts),
            exit_code=exit_code,
            timed_out=timed_out,
            truncated_by_lines=self.cut_lines,
            truncated_by_bytes=self.cut_bytes,
            total_lines=self.lines,
            total_bytes=self.size,
        )


class ShellSession:
    """One long-lived shell process that runs commands one after another (state such as the
    working folder and exported variables carries over between them)."""

    def __init__(
        self,
        workspace: Path,
        policy: BaseExecutionPolicy,
        command: tuple[str, ...],
        environment: Mapping[str, str],
    ) -> None:
        self._workspace = workspace
        self._policy = policy
        self._command = command
        self._environment = dict(environment)
        self._process: ShellProcess | None = None
        self._stdin: IO[str] | None = None
        self._queue: queue.Queue[tuple[str, str | None]] = queue.Queue()
        self._lock = threading.Lock()
        self._terminated = False

    def start(self) -> None:
        """Start the shell (a no-op while it runs) and the threads reading its output.

        Raises:
            RuntimeError: the policy's process has no stdin, stdout or stderr pipe.
        """
        if self._process is not None and self._process.poll() is None:
            return
        process = self._policy.spawn(
            workspace=self._workspace, env=self._environment, command=self._command
        )
        if process.stdin is None or process.stdout is None or process.stderr is None:
            raise RuntimeError("Failed to initialize shell session pipes.")
        self._process, self._stdin = process, process.stdin
        self._terminated = False
        self._queue = queue.Queue()
        for stream, label in ((process.stdout, "stdout"), (process.stderr, "stderr")):
            threading.Thread(target=_pump, args=(stream, label, self._queue), daemon=True).start()

    def restart(self) -> None:
        """Stop the shell and start a fresh one (variables and working folder are reset)."""
        self.stop(self._policy.termination_timeout)
        self.start()

    def stop(self, timeout: float) -> None:
        """Ask the shell to exit; kill its process group if it is still there after
        ``timeout`` seconds."""
        process = self._process
        if process is None:
            return
        if process.poll() is None and not self._terminated and self._stdin is not None:
            try:
                self._stdin.write("exit\n")
                self._stdin.flush()
            except (BrokenPipeError, OSError):
                logger.debug("could not write 'exit' to the shell; killing it", exc_info=True)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill_process()
        finally:
            self._terminated = True
            if self._stdin is not None:
                with contextlib.suppress(Exception):
                    self._stdin.close()
            self._process = None

    def execute(self, command: str, *, timeout: float) -> CommandExecutionResult:
        """Run ``command`` and collect its output until it finishes or ``timeout`` seconds
        pass (then the shell is restarted and the result says ``timed_out``).

        Raises:
            RuntimeError: the session is not running.
        """
        if self._process is None or self._process.poll() is not None or self._stdin is None:
            raise RuntimeError("Shell session is not running.")
        marker = f"{_MARKER_PREFIX}{uuid.uuid4().hex}"
        deadline = time.monotonic() + timeout
        with self._lock:
            self._drain()
            try:
                self._stdin.write(command if command.endswith("\n") else f"{command}\n")
                self._stdin.write(f"printf '{marker} %s\\n' $?\n")
                self._stdin.flush()
            except (BrokenPipeError, OSError):
                # The shell is gone (an earlier ``exit``): report what it left behind.
                return self._after_exit(deadline)
            return self._collect(marker, deadline, timeout)

    def _collect(self, marker: str, deadline: float, timeout: float) -> CommandExecutionResult:
        output = _Output(self._policy.max_output_lines, self._policy.max_output_bytes)
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                source, line = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                if source == "stdout" and self._process is not None:
                    # stdout closed: the command ended the shell (``exit 3``).
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self._process.wait(timeout=max(0.0, min(remaining, _EXIT_GRACE)))
                    self._take_stderr(output, deadline)
                    return output.result(self._process.poll())
                continue
            if source == "stdout" and line.startswith(marker):
                status = line[len(marker) :].strip()
                self._take_stderr(output, deadline)
                return output.result(int(status) if status.lstrip("-").isdigit() else None)
            output.add(source, line)
        logger.warning("Command timed out after %.2f seconds; restarting shell session.", timeout)
        # The shell is still busy with the command, so asking it to exit would wait for the
        # command: kill it (and what it started) first.
        self._kill_process()
        self.restart()
        return output.result(None, timed_out=True)

    def _take_stderr(self, output: _Output, deadline: float) -> None:
        """stderr lines written just before the marker may still be on their way: wait a
        moment for them (stdout has nothing more for this command)."""
        until = min(time.monotonic() + _STDERR_GRACE, deadline)
        while (remaining := until - time.monotonic()) > 0:
            try:
                source, line = self._queue.get(timeout=remaining)
            except queue.Empty:
                return
            if source == "stderr" and line is not None:
                output.add(source, line)

    def _after_exit(self, deadline: float) -> CommandExecutionResult:
        output = _Output(self._policy.max_output_lines, self._policy.max_output_bytes)
        until = min(time.monotonic() + _EXIT_GRACE, deadline)
        while (remaining := until - time.monotonic()) > 0:
            try:
                source, line = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if line is not None:
                output.add(source, line)
        return output.result(self._process.poll() if self._process is not None else None)

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _kill_process(self) -> None:
        """Kill the shell's process group when it has its own (never the caller's), else the
        shell alone; failures are logged, not raised."""
        process = self._process
        if process is None:
            return
        if hasattr(os, "killpg"):
            try:
                group = os.getpgid(process.pid)
                if group != os.getpgrp():
                    os.killpg(group, signal.SIGKILL)
                    return
            except ProcessLookupError:
                return
            except OSError:
                logger.warning("Group kill failed; falling back to direct kill.", exc_info=True)
        try:
            process.kill()
        except ProcessLookupError:
            pass
        except OSError:
            logger.warning("Direct kill failed.", exc_info=True)


def _pump(stream: IO[str], label: str, into: queue.Queue[tuple[str, str | None]]) -> None:
    """Move a stream's lines to ``into`` until it closes, then put ``(label, None)``."""
    with contextlib.suppress(ValueError, OSError):  # closed under us by stop()
        for line in iter(stream.readline, ""):
            into.put((label, line))
    into.put((label, None))
