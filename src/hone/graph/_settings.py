"""Settings shared by one invocation and the subgraphs it runs: where stream events go,
which modes are streamed, durability, the runtime, the resume map."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hone.graph._runtime import Runtime
    from hone.graph._stream import EventSink

__all__ = ["ReplayState", "RunSettings"]


class ReplayState:
    """During a replay from an old parent checkpoint: each subgraph's first run loads its
    checkpoint from before the replay point; later runs of it load their latest."""

    __slots__ = ("_lock", "_visited", "checkpoint_id")

    def __init__(self, checkpoint_id: str) -> None:
        self.checkpoint_id = checkpoint_id
        self._visited: set[str] = set()
        self._lock = threading.Lock()

    def first_visit(self, checkpoint_ns: str) -> bool:
        """True the first time a subgraph namespace (task ids stripped) is seen."""
        stable = checkpoint_ns.rsplit(":", 1)[0] if ":" in checkpoint_ns else checkpoint_ns
        with self._lock:
            if stable in self._visited:
                return False
            self._visited.add(stable)
            return True


@dataclass(slots=True)
class RunSettings:
    """One invocation's settings; subgraphs share them (with their own copies where noted)."""

    #: Where stream events go (None: nobody listens).
    sink: EventSink | None
    #: The requested stream modes.
    modes: frozenset[str]
    #: Stream events of subgraphs too.
    subgraphs: bool
    durability: str
    runtime: Runtime[Any]
    store: Any = None
    cache: Any = None
    #: Message ids already streamed in ``messages`` mode (shared with subgraphs).
    streamed: set[str] = field(default_factory=set)
    streamed_lock: threading.Lock = field(default_factory=threading.Lock)
    #: ``messages`` mode streams content-block events of LangChain chat models, not chunks,
    #: and leaves out the tool messages nodes return (``stream_events(version="v3")``).
    messages_v2: bool = False

    def wants(self, mode: str) -> bool:
        """Whether ``mode`` (or ``debug``, for checkpoints and tasks) is streamed."""
        if self.sink is None:
            return False
        return mode in self.modes or (mode in ("checkpoints", "tasks") and "debug" in self.modes)
