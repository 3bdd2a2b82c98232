"""``StreamTransformer``: the extension point of v3 streaming.

A transformer watches every protocol event of a run (``process``), builds projections from
them (``init`` returns them by name: ``StreamChannel``\\ s, or any other object), and may keep an
event out of the main log by returning False. The mux closes or fails the channels it returned
when the run ends, so most transformers need neither ``finalize`` nor ``fail``.

Each run builds fresh transformers from *factories* called with the scope (the namespace tuple
of the run or subgraph they serve), so a transformer class whose ``__init__`` takes ``scope``
is its own factory.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    from hone.graph.streaming._mux import StreamMux
    from hone.graph.streaming._protocol import ProtocolEvent

__all__ = ["StreamTransformer", "needs_async"]

_log = logging.getLogger(__name__)


class StreamTransformer(ABC):
    """A projection of a run's events. Subclasses implement :meth:`init` and :meth:`process`
    (or :meth:`aprocess`).

    Class settings:

    * ``required_stream_modes``: the graph stream modes this transformer reads; a v3 run asks
      the graph for the union over its transformers.
    * ``before_builtins``: run before the built-in transformers (to redact or rewrite an event
      before ``run.messages`` copies its text).
    * ``requires_async``: needs ``astream_events`` (it calls :meth:`schedule`); overriding
      ``aprocess``, ``afinalize`` or ``afail`` implies it unless ``supports_sync`` is set.
    * ``_native``: its projections also become attributes of the run stream (``run.values``).
    """

    requires_async: ClassVar[bool] = False
    supports_sync: ClassVar[bool] = False
    required_stream_modes: ClassVar[tuple[str, ...]] = ()
    before_builtins: ClassVar[bool] = False
    _native: ClassVar[bool] = False

    def __init__(self, scope: tuple[str, ...] = ()) -> None:
        self.scope: tuple[str, ...] = scope

    @abstractmethod
    def init(self) -> dict[str, Any]:
        """The projections by name (the keys of ``run.extensions``)."""

    def _on_register(self, mux: StreamMux) -> None:  # noqa: B027 - an optional hook
        """Called once the mux has wired this transformer's projections."""

    def process(self, event: ProtocolEvent) -> bool:
        """Look at one event (sync lane); return False to keep it out of the main log."""
        raise NotImplementedError(f"{type(self).__name__} must override process() or aprocess()")

    async def aprocess(self, event: ProtocolEvent) -> bool:
        """Look at one event (async lane; the next transformer waits for it)."""
        return self.process(event)

    def finalize(self) -> None:  # noqa: B027 - an optional hook
        """The run ended normally (sync lane)."""

    async def afinalize(self) -> None:
        """The run ended normally (async lane; scheduled work has finished)."""
        self.finalize()

    def fail(self, err: BaseException) -> None:  # noqa: B027 - an optional hook
        """The run ended with ``err`` (sync lane)."""

    async def afail(self, err: BaseException) -> None:
        """The run ended with ``err`` (async lane; scheduled work was cancelled)."""
        self.fail(err)

    def schedule(
        self,
        coro: Coroutine[Any, Any, Any],
        *,
        on_error: Literal["log", "raise"] = "log",
    ) -> asyncio.Task[Any]:
        """Run ``coro`` beside the run; the mux awaits it before the run's end (and cancels it
        when the run fails). ``on_error="log"`` logs its exception, ``"raise"`` fails the run.

        Raises:
            RuntimeError: no event loop is running (a sync ``stream_events`` run).
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                f"{type(self).__name__}.schedule() requires a running event loop: use "
                "astream_events(version='v3'), and set requires_async = True on the class so "
                "a sync run refuses it when it is registered"
            ) from None
        task = asyncio.create_task(_logged(coro) if on_error == "log" else coro)
        pending = self._scheduled()
        pending.add(task)
        task.add_done_callback(pending.discard)
        return task

    def _scheduled(self) -> set[asyncio.Task[Any]]:
        # Kept on the instance lazily: subclasses need not call super().__init__().
        tasks: set[asyncio.Task[Any]] | None = self.__dict__.get("_stream_scheduled_tasks")
        if tasks is None:
            tasks = self.__dict__["_stream_scheduled_tasks"] = set()
        return tasks


async def _logged(coro: Coroutine[Any, Any, Any]) -> Any:
    try:
        return await coro
    except asyncio.CancelledError:
        raise
    except Exception:
        _log.exception("a task scheduled by a stream transformer failed")
        return None


def needs_async(transformer: StreamTransformer) -> bool:
    """Whether ``transformer`` can only run under ``astream_events`` (see the class doc)."""
    if transformer.requires_async:
        return True
    if transformer.supports_sync:
        return False
    cls = type(transformer)
    return any(
        getattr(cls, name) is not getattr(StreamTransformer, name)
        for name in ("aprocess", "afinalize", "afail")
    )
