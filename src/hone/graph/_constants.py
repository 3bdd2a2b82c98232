"""Names the runtime reserves: virtual nodes, special channels and write kinds.

The string values are LangGraph's, so checkpoints and pending writes read the same in both
runtimes (a thread written by one can be inspected with the other's tools).
"""

from __future__ import annotations

import sys
from typing import Final

__all__ = [
    "CONFIG_KEY_STREAM_MESSAGES_V2",
    "END",
    "ERROR",
    "INPUT",
    "INTERRUPT",
    "NO_WRITES",
    "NS_END",
    "NS_SEP",
    "NULL_TASK_ID",
    "OVERWRITE",
    "PREVIOUS",
    "PULL",
    "PUSH",
    "RESERVED",
    "RESUME",
    "RETURN",
    "START",
    "TAG_HIDDEN",
    "TAG_NOSTREAM",
    "TASKS",
    "TASK_ID_KEY",
]

#: The virtual node a graph starts from.
START: Final = sys.intern("__start__")
#: The virtual node a graph ends at.
END: Final = sys.intern("__end__")

#: The graph input, as the writer of the first checkpoint's writes.
INPUT: Final = sys.intern("__input__")
#: A task's interrupts (pending write kind).
INTERRUPT: Final = sys.intern("__interrupt__")
#: Answers to interrupts (pending write kind).
RESUME: Final = sys.intern("__resume__")
#: A task's failure (pending write kind).
ERROR: Final = sys.intern("__error__")
#: A task that finished without writing anything (pending write kind).
NO_WRITES: Final = sys.intern("__no_writes__")
#: The channel of pending :class:`~hone.graph.Send` packets.
TASKS: Final = sys.intern("__pregel_tasks")
#: A functional-API task's return value (pending write kind).
RETURN: Final = sys.intern("__return__")
#: The channel holding an entrypoint's previous return value.
PREVIOUS: Final = sys.intern("__previous__")
#: The marker of an Overwrite written as a plain dict.
OVERWRITE: Final = sys.intern("__overwrite__")

#: Task kinds in a task's path: a pushed packet (Send, functional call) or a triggered node.
PUSH: Final = sys.intern("__pregel_push")
PULL: Final = sys.intern("__pregel_pull")

#: Separates the segments of a checkpoint namespace ("parent:task|child:task").
NS_SEP: Final = sys.intern("|")
#: Separates a node name from its task id inside a namespace segment.
NS_END: Final = sys.intern(":")

#: The id that writes not made by a task (graph input, commands) are saved under.
NULL_TASK_ID: Final = sys.intern("00000000-0000-0000-0000-000000000000")

#: A tag that hides a task from ``updates`` streams (the START pseudo node has it).
TAG_HIDDEN: Final = sys.intern("langsmith:hidden")
#: A tag that keeps a model call's tokens out of the ``messages`` stream
#: (``model.with_config(tags=[TAG_NOSTREAM])``).
TAG_NOSTREAM: Final = sys.intern("nostream")

#: The ``configurable`` key of a node's config holding its task id (marks a nested run).
TASK_ID_KEY: Final = sys.intern("__pregel_task_id")

#: The ``configurable`` key that turns a run's ``messages`` stream into content-block events
#: (LangChain's streaming protocol), as ``stream_events(version="v3")`` asks for.
CONFIG_KEY_STREAM_MESSAGES_V2: Final = sys.intern("__pregel_stream_messages_v2")

#: Pending-write kinds that are not channels.
RESERVED: Final = frozenset((INTERRUPT, RESUME, ERROR, NO_WRITES, RETURN, PUSH))
#: What an interrupted task keeps for its resumed run (pending write kind).
KEPT: Final = sys.intern("__hone_kept__")
#: The node whose failure an error handler is running for (pending write kind).
ERROR_SOURCE: Final = sys.intern("__error_source_node__")
