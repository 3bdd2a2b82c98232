"""Execution policies of :class:`~hone.agents.middleware.ShellToolMiddleware`: how its
persistent shell process is started and what confines it (LangChain's
``HostExecutionPolicy``, ``DockerExecutionPolicy`` and ``CodexSandboxExecutionPolicy``).

A policy is configuration (timeouts, output limits, resources) plus one method, ``spawn``,
which starts the shell with text pipes on stdin, stdout and stderr in a process group of its
own, so that a timed-out command can be killed with everything it started. A policy of your
own subclasses :class:`BaseExecutionPolicy`; ``spawn`` may return any :class:`ShellProcess`.
"""

from __future__ import annotations

import abc
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, Protocol

try:
    import resource

    _HAS_RESOURCE = True
except ImportError:  # not a POSIX platform
    _HAS_RESOURCE = False

__all__ = [
    "SHELL_TEMP_PREFIX",
    "BaseExecutionPolicy",
    "CodexSandboxExecutionPolicy",
    "DockerExecutionPolicy",
    "HostExecutionPolicy",
    "ShellProcess",
]

#: Prefix of the temporary workspaces the middleware makes (Docker never mounts those).
SHELL_TEMP_PREFIX = "hone-shell-"


class ShellProcess(Protocol):
    """What a policy's ``spawn`` returns: a running shell with text pipes (a
    ``subprocess.Popen[str]`` is one)."""

    pid: int
    stdin: IO[str] | None
    stdout: IO[str] | None
    stderr: IO[str] | None

    def poll(self) -> int | None:
        """The exit status, or None while the shell runs."""
        ...

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the shell to exit (``subprocess.TimeoutExpired`` past ``timeout``)."""
        ...

    def kill(self) -> None:
        """Kill the shell process itself."""
        ...


def _launch_subprocess(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    preexec_fn: Callable[[], None] | None,
    start_new_session: bool,
) -> subprocess.Popen[str]:
    """Start ``command`` with line-buffered UTF-8 text pipes on all three streams."""
    return subprocess.Popen(
        list(command),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=dict(env),
        text=True,
        encoding="utf-8",
        errors="replace",
        bufsize=1,
        preexec_fn=preexec_fn,  # set only where prlimit is missing (macOS)
        start_new_session=start_new_session,
    )


def _which(binary: str, policy: str) -> str:
    """The full path of ``binary`` on PATH.

    Raises:
        RuntimeError: it is not installed (or not on PATH).
    """
    path = shutil.which(binary)
    if path is None:
        raise RuntimeError(
            f"{policy} requires the '{binary}' CLI to be installed and available on PATH."
        )
    return path


@dataclass
class BaseExecutionPolicy(abc.ABC):
    """Limits every policy shares, and the ``spawn`` each one defines.

    Attributes:
        command_timeout: seconds one command may run before the shell is restarted.
        startup_timeout: seconds each startup command may run.
        termination_timeout: seconds the shell gets to exit before it is killed.
        max_output_lines: output lines kept per command (the rest is counted, not shown).
        max_output_bytes: output bytes kept per command (None: no byte limit).
    """

    command_timeout: float = 30.0
    startup_timeout: float = 30.0
    termination_timeout: float = 10.0
    max_output_lines: int = 100
    max_output_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.max_output_lines <= 0:
            raise ValueError("max_output_lines must be positive.")

    @abc.abstractmethod
    def spawn(
        self, *, workspace: Path, env: Mapping[str, str], command: Sequence[str]
    ) -> ShellProcess:
        """Start the persistent shell ``command`` in ``workspace`` with ``env``."""


@dataclass
class HostExecutionPolicy(BaseExecutionPolicy):
    """Run the shell as a plain child process of this one, with optional CPU-time and memory
    limits but no file-system or network isolation: for trusted settings (a CI job, a
    developer's machine, an agent already inside a container or VM).

    Limits are applied with ``prlimit`` once the shell runs (Linux), else with ``setrlimit``
    just before it starts (macOS). ``create_process_group`` (default True) starts the shell in
    its own session so a timeout kills its whole process tree.
    """

    cpu_time_seconds: int | None = None
    memory_bytes: int | None = None
    create_process_group: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.cpu_time_seconds is not None and self.cpu_time_seconds <= 0:
            raise ValueError("cpu_time_seconds must be positive if provided.")
        if self.memory_bytes is not None and self.memory_bytes <= 0:
            raise ValueError("memory_bytes must be positive if provided.")
        if self._limits_requested and not _HAS_RESOURCE:
            raise RuntimeError(
                "HostExecutionPolicy cpu_time_seconds/memory_bytes need Python's 'resource' "
                "module (POSIX only); remove the limits or run on a POSIX platform."
            )

    @property
    def _limits_requested(self) -> bool:
        return self.cpu_time_seconds is not None or self.memory_bytes is not None

    def spawn(
        self, *, workspace: Path, env: Mapping[str, str], command: Sequence[str]
    ) -> ShellProcess:
        """Start the shell on the host, then limit it (see the class docstring)."""
        use_prlimit = self._prlimit_available()
        preexec = self._limits_in_child if self._limits_requested and not use_prlimit else None
        process = _launch_subprocess(
            command,
            env=env,
            cwd=workspace,
            preexec_fn=preexec,
            start_new_session=self.create_process_group,
        )
        if self._limits_requested and use_prlimit:
            try:
                for limit, value in self._limits():
                    resource.prlimit(process.pid, limit, (value, value))
            except OSError as exc:
                raise RuntimeError("Failed to apply resource limits via prlimit.") from exc
        return process

    def _limits(self) -> list[tuple[int, int]]:
        """(resource, value) pairs: CPU seconds, then memory as address space (or data
        segment where the platform has no RLIMIT_AS)."""
        pairs: list[tuple[int, int]] = []
        if self.cpu_time_seconds is not None:
            pairs.append((resource.RLIMIT_CPU, self.cpu_time_seconds))
        if self.memory_bytes is not None:
            memory = getattr(resource, "RLIMIT_AS", None)
            if memory is None:
                memory = getattr(resource, "RLIMIT_DATA", None)
            if memory is not None:
                pairs.append((memory, self.memory_bytes))
        return pairs

    def _limits_in_child(self) -> None:
        """Runs in the child between fork and exec where ``prlimit`` is missing."""
        for limit, value in self._limits():
            resource.setrlimit(limit, (value, value))

    @staticmethod
    def _prlimit_available() -> bool:
        return _HAS_RESOURCE and hasattr(resource, "prlimit") and sys.platform.startswith("linux")


@dataclass
class CodexSandboxExecutionPolicy(BaseExecutionPolicy):
    """Run the shell under the Codex CLI's sandbox (``codex sandbox linux|macos -- cmd``):
    Landlock and seccomp on Linux, Seatbelt on macOS, as the CLI's profile sets them.

    ``config_overrides`` become ``-c key=value`` arguments (values as JSON), in key order.
    Starting fails with ``RuntimeError`` when the CLI is missing. The policy adds no resource
    limits of its own.
    """

    binary: str = "codex"
    platform: Literal["auto", "macos", "linux"] = "auto"
    config_overrides: Mapping[str, Any] = field(default_factory=dict)

    def spawn(
        self, *, workspace: Path, env: Mapping[str, str], command: Sequence[str]
    ) -> ShellProcess:
        """Start ``codex sandbox`` running the shell."""
        return _launch_subprocess(
            self._build_command(command),
            env=env,
            cwd=workspace,
            preexec_fn=None,
            start_new_session=True,
        )

    def _build_command(self, command: Sequence[str]) -> list[str]:
        argv = [self._resolve_binary(), "sandbox", self._determine_platform()]
        for key in sorted(self.config_overrides):
            argv += ["-c", f"{key}={self._format_override(self.config_overrides[key])}"]
        return [*argv, "--", *command]

    def _resolve_binary(self) -> str:
        return _which(self.binary, "Codex sandbox policy")

    def _determine_platform(self) -> str:
        if self.platform != "auto":
            return self.platform
        current: str = sys.platform  # a plain str: mypy would fix it to the checking host's
        if current.startswith("linux"):
            return "linux"
        if current == "darwin":
            return "macos"
        raise RuntimeError(
            f"Codex sandbox policy cannot tell the platform of {current!r}; "
            "set 'platform' explicitly."
        )

    @staticmethod
    def _format_override(value: Any) -> str:
        try:
            return json.dumps(value)
        except TypeError:
            return str(value)


@dataclass
class DockerExecutionPolicy(BaseExecutionPolicy):
    """Run the shell in a fresh Docker container (``docker run -i ...``), for commands from
    untrusted sources.

    The workspace is bind-mounted (at the same path, as the working folder) unless it is a
    temporary one the middleware made; the container has no network unless
    ``network_enabled``; ``read_only_rootfs``, ``user``, ``cpus`` and ``memory_bytes`` harden
    it further, and ``extra_run_args`` go to ``docker run`` before the image. CPU time cannot
    be limited this way (use ``cpus``). How strong the isolation is depends on the Docker
    daemon (rootless mode, AppArmor or SELinux).
    """

    binary: str = "docker"
    image: str = "python:3.12-alpine3.19"
    remove_container_on_exit: bool = True
    network_enabled: bool = False
    extra_run_args: Sequence[str] | None = None
    memory_bytes: int | None = None
    cpu_time_seconds: Any | None = None
    cpus: str | None = None
    read_only_rootfs: bool = False
    user: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.memory_bytes is not None and self.memory_bytes <= 0:
            raise ValueError("memory_bytes must be positive if provided.")
        if self.cpu_time_seconds is not None:
            raise RuntimeError(
                "DockerExecutionPolicy does not support cpu_time_seconds; limit CPU with "
                "Docker's own options, such as cpus='1.5' (--cpus)."
            )
        if self.cpus is not None and not self.cpus.strip():
            raise ValueError("cpus must be a non-empty string when provided.")
        if self.user is not None and not self.user.strip():
            raise ValueError("user must be a non-empty string when provided.")
        self.extra_run_args = tuple(self.extra_run_args or ())

    def spawn(
        self, *, workspace: Path, env: Mapping[str, str], command: Sequence[str]
    ) -> ShellProcess:
        """Start ``docker run`` with the shell; ``env`` goes into the container (``-e``), the
        docker CLI itself runs with this process's environment."""
        return _launch_subprocess(
            self._build_command(workspace, env, command),
            env=dict(os.environ),
            cwd=workspace,
            preexec_fn=None,
            start_new_session=True,
        )

    def _build_command(
        self, workspace: Path, env: Mapping[str, str], command: Sequence[str]
    ) -> list[str]:
        argv = [self._resolve_binary(), "run", "-i"]
        if self.remove_container_on_exit:
            argv.append("--rm")
        if not self.network_enabled:
            argv += ["--network", "none"]
        if self.memory_bytes is not None:
            argv += ["--memory", str(self.memory_bytes)]
        if self._should_mount_workspace(workspace):
            argv += ["-v", f"{workspace}:{workspace}", "-w", str(workspace)]
        else:
            argv += ["-w", "/"]
        if self.read_only_rootfs:
            argv.append("--read-only")
        for key, value in env.items():
            argv += ["-e", f"{key}={value}"]
        if self.cpus is not None:
            argv += ["--cpus", self.cpus]
        if self.user is not None:
            argv += ["--user", self.user]
        argv += [*(self.extra_run_args or ()), self.image, *command]
        return argv

    @staticmethod
    def _should_mount_workspace(workspace: Path) -> bool:
        return not workspace.name.startswith(SHELL_TEMP_PREFIX)

    def _resolve_binary(self) -> str:
        return _which(self.binary, "Docker execution policy")
