"""What confines a session: each layer, whether it applied, and why not when it did not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias, get_args

from hone.errors import ConfigError

__all__ = ["LAYERS", "LayerName", "LayerStatus", "SandboxReport"]

#: The layers, in the order they apply (docs/sandbox.md says what each one stops).
LayerName: TypeAlias = Literal[
    "session",
    "environment",
    "scratch",
    "output_bounds",
    "rlimits",
    "uid_drop",
    "rlimit_nproc",
    "pdeathsig",
    "user_namespace",
    "mount_namespace",
    "net_namespace",
    "pid_namespace",
    "no_new_privs",
    "landlock_fs",
    "landlock_net",
    "landlock_scope",
    "seccomp",
]

#: Every layer name, in order.
LAYERS: tuple[LayerName, ...] = get_args(LayerName)


@dataclass(frozen=True, slots=True)
class LayerStatus:
    """One layer: whether it applied to the worker, and what it did or why it did not."""

    layer: LayerName
    applied: bool
    detail: str


@dataclass(frozen=True, slots=True)
class SandboxReport:
    """Every layer of one session's worker, as the worker and the host applied them.

    Attributes:
        layers: one status per layer, in :data:`LAYERS` order.
        kernel: the kernel release.
        host_uid: the uid of the host process.
        bubblewrap: the ``bwrap`` executable used (None: not used).
    """

    layers: tuple[LayerStatus, ...]
    kernel: str
    host_uid: int
    bubblewrap: str | None = None

    def status(self, layer: LayerName) -> LayerStatus:
        """The status of ``layer``.

        Raises:
            ConfigError: not a layer name.
        """
        for status in self.layers:
            if status.layer == layer:
                return status
        raise ConfigError(f"unknown sandbox layer {layer!r}; layers: {', '.join(LAYERS)}")

    def applied(self, layer: LayerName) -> bool:
        """Whether ``layer`` applied."""
        return self.status(layer).applied

    @property
    def missing(self) -> tuple[LayerName, ...]:
        """The layers that did not apply."""
        return tuple(s.layer for s in self.layers if not s.applied)

    def summary(self) -> str:
        """One line per layer: ``[x]`` applied or ``[ ]`` not, its name and detail."""
        return "\n".join(
            f"[{'x' if s.applied else ' '}] {s.layer:<16} {s.detail}" for s in self.layers
        )
