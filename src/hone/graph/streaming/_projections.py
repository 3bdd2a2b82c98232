"""The built-in projections of one stream mode each: ``run.values``, ``run.updates``,
``run.custom``, ``run.checkpoints``, ``run.debug``, ``run.tasks``.

Each keeps the payloads of its mode's events at its own scope (the run's, or a subgraph
handle's): events from deeper subgraphs stay in the main log and reach the projections of
that subgraph's handle instead.
"""

from __future__ import annotations

from typing import Any, ClassVar

from hone.graph.streaming._channel import StreamChannel
from hone.graph.streaming._protocol import ProtocolEvent
from hone.graph.streaming._transformer import StreamTransformer

__all__ = [
    "CheckpointsTransformer",
    "CustomTransformer",
    "DebugTransformer",
    "ModeTransformer",
    "TasksTransformer",
    "UpdatesTransformer",
    "ValuesTransformer",
]


class ModeTransformer(StreamTransformer):
    """Copies the payloads of one stream mode at this scope into the projection ``mode``."""

    mode: ClassVar[str]
    _native = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "mode" in cls.__dict__:
            cls.required_stream_modes = (cls.mode,)

    def __init__(self, scope: tuple[str, ...] = ()) -> None:
        super().__init__(scope)
        self._log: StreamChannel[Any] = StreamChannel()
        self._scope_list = list(scope)

    def init(self) -> dict[str, Any]:
        return {self.mode: self._log}

    def _mine(self, event: ProtocolEvent) -> bool:
        return event["method"] == self.mode and event["params"]["namespace"] == self._scope_list

    def process(self, event: ProtocolEvent) -> bool:
        if self._mine(event):
            self._log.push(event["params"]["data"])
        return True


class ValuesTransformer(ModeTransformer):
    """``run.values``: the state after each step (and the interrupts it stopped on)."""

    mode = "values"

    def __init__(self, scope: tuple[str, ...] = ()) -> None:
        super().__init__(scope)
        self._latest: dict[str, Any] | None = None
        self._interrupted = False
        self._interrupts: list[Any] = []

    @property
    def error(self) -> BaseException | None:
        """The error the run failed with, or None."""
        return self._log._error

    def process(self, event: ProtocolEvent) -> bool:
        if self._mine(event):
            params = event["params"]
            self._latest = params["data"]
            if interrupts := params.get("interrupts", ()):
                self._interrupted = True
                self._interrupts.extend(interrupts)
            self._log.push(params["data"])
        return True


class UpdatesTransformer(ModeTransformer):
    """``run.updates``: ``{node: update}`` as each node finishes."""

    mode = "updates"


class CustomTransformer(ModeTransformer):
    """``run.custom``: what nodes wrote with ``get_stream_writer()``."""

    mode = "custom"


class CheckpointsTransformer(ModeTransformer):
    """``run.checkpoints``: each checkpoint saved (only with a checkpointer)."""

    mode = "checkpoints"


class DebugTransformer(ModeTransformer):
    """``run.debug``: the ``debug`` stream mode's step records."""

    mode = "debug"


class TasksTransformer(ModeTransformer):
    """``run.tasks``: each task's start and result payloads."""

    mode = "tasks"
