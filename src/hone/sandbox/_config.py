"""How a process sandbox is set up: its limits, its layers, and what the code may see."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from hone.errors import ConfigError
from hone.sandbox._report import LAYERS, LayerName

__all__ = ["DEFAULT_INHERITED_ENV", "Layers", "Limits", "SandboxConfig"]

_MiB = 1 << 20

#: Host variables a worker inherits (locale and numeric-library settings; never secrets).
DEFAULT_INHERITED_ENV = (
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
)


@dataclass(frozen=True, slots=True)
class Limits:
    """Time, resource and size limits of a session. None turns a limit off.

    Attributes:
        timeout: wall-clock seconds one code block may run (host-function calls included);
            then it is interrupted, and killed with its whole process tree if it does not
            stop within ``interrupt_grace``.
        interrupt_grace: seconds an interrupted block gets to stop before the kill.
        cpu_seconds: CPU seconds for the worker's whole life (RLIMIT_CPU; the kernel kills it
            past that).
        memory_bytes: address space of each process (RLIMIT_AS; past it, ``MemoryError``).
        file_size_bytes: largest file a process may write (RLIMIT_FSIZE; past it, ``EFBIG``).
        open_files: open file descriptors per process (RLIMIT_NOFILE).
        processes: processes and threads of the session's uid (RLIMIT_NPROC).
        output_chars: printed characters kept per block (the first and the last halves).
        message_bytes: largest message between the worker and the host (arguments of a
            call, a variable read back).
        call_timeout: seconds one host-function call may take (a function's own
            ``timeout`` wins); past it, the code gets ``TimeoutError``.
        start_timeout: seconds the worker may take to start and confine itself.
    """

    timeout: float | None = 30.0
    interrupt_grace: float = 1.0
    cpu_seconds: int | None = 600
    memory_bytes: int | None = 2048 * _MiB
    file_size_bytes: int | None = 64 * _MiB
    open_files: int | None = 256
    processes: int | None = 64
    output_chars: int = 20_000
    message_bytes: int = 64 * _MiB
    call_timeout: float | None = None
    start_timeout: float = 30.0

    def __post_init__(self) -> None:
        for name in ("timeout", "call_timeout"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"Limits.{name} must be > 0 or None, got {value}")
        for name in ("cpu_seconds", "memory_bytes", "file_size_bytes", "open_files", "processes"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"Limits.{name} must be a positive int or None, got {value!r}")
        if self.open_files is not None and self.open_files < 16:
            raise ConfigError(f"Limits.open_files must be at least 16, got {self.open_files}")
        if self.interrupt_grace < 0 or self.start_timeout <= 0:
            raise ConfigError("Limits.interrupt_grace must be >= 0 and start_timeout > 0")
        if self.output_chars < 2 or self.message_bytes < 1024:
            raise ConfigError(
                f"Limits.output_chars must be >= 2 and message_bytes >= 1024, got "
                f"{self.output_chars} and {self.message_bytes}"
            )


@dataclass(frozen=True, slots=True)
class Layers:
    """Which optional layers to use (each still applies only where the platform has it; the
    session's report says what applied).

    The session, environment, scratch folder, output bounds, resource limits and the
    parent-death signal always apply.

    Attributes:
        bubblewrap: run the worker under bubblewrap in its own mount, network, PID, IPC and
            UTS namespaces (and a user namespace when the host is not root).
        drop_uid: when the host is root, run the worker as a fresh unprivileged uid.
        no_new_privs: set no-new-privileges (Landlock and seccomp set it anyway).
        landlock: Landlock: the file system read-only except the scratch folder, no TCP, no
            signals or abstract sockets outside the sandbox (as far as the kernel's ABI goes).
        seccomp: a seccomp filter denying sockets and dangerous syscalls.
        require: layers that must apply: a session where one does not fails to start with
            :class:`~hone.sandbox.SandboxStartError` instead of running with less.
    """

    bubblewrap: bool = True
    drop_uid: bool = True
    no_new_privs: bool = True
    landlock: bool = True
    seccomp: bool = True
    require: tuple[LayerName, ...] = ()

    def __post_init__(self) -> None:
        unknown = [name for name in self.require if name not in LAYERS]
        if unknown:
            raise ConfigError(
                f"Layers.require names unknown layers {unknown}; layers: {', '.join(LAYERS)}"
            )


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """A process sandbox's settings.

    Attributes:
        limits: time, resource and size limits.
        layers: which optional layers to use, and which are required.
        read_paths: folders or files the code may read besides the Python installation and
            the system's libraries (data the code works on).
        env: variables given to the code, on top of a minimal set (PATH, HOME and TMPDIR
            pointing at the scratch folder, LANG) and ``inherit_env``; nothing else of the
            host's environment reaches the worker.
        inherit_env: names of host variables passed through when set.
        scratch: the code's working folder, kept after the session (None: a fresh temporary
            folder per session, removed when it closes). A folder you give must be writable
            by the worker's uid (a fixed ``uid``, or a mode that lets any user write).
        scratch_parent: where temporary scratch folders are made (None: the system's).
        python: the interpreter to run (None: this one). Its installation must have the
            ``sandbox`` extra for Landlock and seccomp.
        echo: show the value of a block's last expression, as the Python prompt does.
        uid: the uid to drop to when the host is root (None: a fresh one per session, so
            sessions cannot signal or read each other).
    """

    limits: Limits = field(default_factory=Limits)
    layers: Layers = field(default_factory=Layers)
    read_paths: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    inherit_env: tuple[str, ...] = DEFAULT_INHERITED_ENV
    scratch: str | None = None
    scratch_parent: str | None = None
    python: str | None = None
    echo: bool = True
    uid: int | None = None

    def __post_init__(self) -> None:
        bad = {k: v for k, v in self.env.items() if not isinstance(v, str) or "=" in k or not k}
        if bad:
            raise ConfigError(f"SandboxConfig.env must map names to strings, got {bad}")
        if self.uid is not None and not 0 < self.uid < 2**31:
            raise ConfigError(f"SandboxConfig.uid must be a positive uid, got {self.uid}")
        paths: object = self.read_paths
        if isinstance(paths, str):
            raise ConfigError("SandboxConfig.read_paths is a tuple of paths, not one string")
