"""One run of a graph on one thread and namespace: load the checkpoint, apply the input (or
a resume command), then super-step by super-step plan tasks, collect their writes, apply
them and save checkpoints.

The shells in :mod:`hone.graph._runner` drive it: ``enter()``, then ``while tick(): run
the tasks; after_tick()``, then ``exit(error)``. Nothing here knows about threads or event
loops, except the single background thread that saves checkpoints with
``durability="async"``.

:class:`Loop` builds on three layers, each a class the next extends: what a run holds and
how it is saved (:class:`~hone.graph._loop_state.LoopState`), what it streams
(:class:`~hone.graph._loop_stream.StreamingLoop`), and its super-steps
(:class:`~hone.graph._loop_steps.SteppingLoop`). This module enters a run (the checkpoint,
then the input, a command, a resume or a replay) and exits it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from hone.errors import EmptyInputError, InvalidUpdateError, ResumeError
from hone.graph._algo import apply_writes, prepare_tasks
from hone.graph._checkpoint import channels_from_checkpoint, copy_checkpoint, empty_checkpoint
from hone.graph._constants import (
    INPUT,
    INTERRUPT,
    NS_END,
    NS_SEP,
    NULL_TASK_ID,
    RESUME,
    START,
    TASKS,
)
from hone.graph._interrupt import GraphInterrupt, is_interrupt_id
from hone.graph._loop_steps import KEPT, SPECIAL_WRITES, SteppingLoop
from hone.graph._loop_stream import message_metadata
from hone.graph._settings import ReplayState
from hone.graph._stream import read_values
from hone.graph._types import Command, Send

__all__ = ["KEPT", "SPECIAL_WRITES", "Loop", "message_metadata", "recast_namespace"]

logger = logging.getLogger(__name__)


def recast_namespace(ns: str) -> str:
    """A namespace without task ids (``a:1|b:2`` -> ``a|b``): where a subgraph compiled
    with ``checkpointer=True`` keeps its state across calls."""
    return NS_SEP.join(part.split(NS_END)[0] for part in ns.split(NS_SEP) if not part.isdigit())


class Writes:
    """Writes that do not come from a running task (graph input, commands, updates)."""

    __slots__ = ("name", "path", "triggers", "writes")

    def __init__(
        self,
        path: tuple[Any, ...],
        name: str,
        writes: Sequence[tuple[str, Any]],
        triggers: Sequence[str],
    ) -> None:
        self.path = path
        self.name = name
        self.writes = writes
        self.triggers = triggers


class Loop(SteppingLoop):
    """One run: entering it and exiting it (see the module docstring)."""

    # ------------------------------------------------------------------ enter

    def enter(self) -> None:
        """Load the checkpoint and apply the input (or resume)."""
        saved = None
        if self.checkpointer is not None:
            conf = self.checkpoint_config["configurable"]
            if conf.get("checkpoint_id"):
                saved = self.checkpointer.get_tuple(self.checkpoint_config)
            elif self.replay is not None and self.is_nested:
                saved = self._replay_tuple()
                self.resuming_flag = None
            else:
                saved = self.checkpointer.get_tuple(self.checkpoint_config)
        self.has_parent_checkpoint = saved is not None
        if saved is None:
            checkpoint = empty_checkpoint()
            metadata: dict[str, Any] = {"step": -2}
            pending: list[tuple[str, str, Any]] = []
            parent_config = None
            saved_conf: dict[str, Any] = {}
        else:
            checkpoint = copy_checkpoint(saved.checkpoint)
            metadata = dict(saved.metadata or {})
            pending = [(str(t), c, v) for t, c, v in saved.pending_writes or []]
            parent_config = saved.parent_config
            saved_conf = dict(saved.config.get("configurable", {}))
        self.checkpoint_config = {
            **self.checkpoint_config,
            "configurable": {
                "checkpoint_ns": "",
                **self.checkpoint_config["configurable"],
                **saved_conf,
            },
        }
        self.prev_checkpoint_config = parent_config
        self.checkpoint_id_saved = checkpoint["id"]
        self.checkpoint = checkpoint
        self.checkpoint_metadata = metadata
        self.pending_writes = pending
        self.channels = channels_from_checkpoint(self.graph.channels, checkpoint)
        self.status = "input"
        self.step = int(metadata.get("step", -2)) + 1
        self.stop = self.step + int(self.config.get("recursion_limit", 25)) + 1
        self.previous_versions = dict(checkpoint["channel_versions"])
        updated = checkpoint.get("updated_channels")
        self.updated_channels = self._first(set(updated) if updated else None)

    def _replay_tuple(self) -> Any:
        assert self.replay is not None and self.checkpointer is not None
        if self.replay.first_visit(self.ns):
            before = {"configurable": {"checkpoint_id": self.replay.checkpoint_id}}
            for saved in self.checkpointer.list(self.checkpoint_config, before=before, limit=1):
                return saved
            return None
        return self.checkpointer.get_tuple(self.checkpoint_config)

    def _pending_interrupt_ids(self) -> set[str]:
        """The ids of the questions now waiting: a task's latest interrupt write (one plain
        interrupt, or the several questions of ``interrupt_many`` / ToolNode calls)."""
        by_task: dict[str, set[str]] = {}
        resumed: set[str] = set()
        for tid, kind, value in self.pending_writes:
            if kind == INTERRUPT:
                items = value if isinstance(value, Sequence) else [value]
                by_task[tid] = {item.id for item in items}
            elif kind == RESUME:
                resumed.add(tid)
        return {iid for tid, ids in by_task.items() if tid not in resumed for iid in ids}

    def _first(self, updated_channels: set[str] | None) -> set[str] | None:
        """Apply the input or the command to the loaded checkpoint (or go on from it);
        returns the channels updated."""
        command = self.input if isinstance(self.input, Command) else None
        resuming = self._is_resuming(command)
        time_travel = self._is_time_travel(command)
        if time_travel:
            self.pending_writes = [w for w in self.pending_writes if w[1] != RESUME]
        if command is not None:
            self._apply_command(command)
        self._apply_null_writes(updated_channels)
        if resuming:
            self._resume(time_travel)
        elif self.input is not None and command is None:
            updated_channels = self._apply_input(self.input, updated_channels)
        elif not resuming and self.resuming_flag is None:
            raise EmptyInputError(f"Received no input for {START}")
        if not self.is_nested:
            self.replay = self._replay_state() if time_travel else None
        self.resuming = resuming
        self.child_resuming = resuming
        self.status = "pending"
        return updated_channels

    def _is_resuming(self, command: Command[Any] | None) -> bool:
        """Whether the run goes on from its checkpoint (no input, a command, or a subgraph
        told to) rather than starting over from its input."""
        has_state = bool(self.checkpoint["channel_versions"])
        if self.resuming_flag is not None:
            return has_state and self.resuming_flag
        return has_state and (self.input is None or command is not None)

    def _is_time_travel(self, command: Command[Any] | None) -> bool:
        """Whether the run replays (or forks) the checkpoint it was given, rather than
        answering that checkpoint's interrupts."""
        return self.is_replaying and (
            (self.is_nested and self.ns in self.checkpoint_map)
            or not ((command is not None and command.resume is not None) or self.resuming_flag)
        )

    def _apply_null_writes(self, updated_channels: set[str] | None) -> None:
        """Apply the writes saved without a task (a command's, an update's)."""
        null_writes = [(c, v) for t, c, v in self.pending_writes if t == NULL_TASK_ID]
        if null_writes:
            changed = apply_writes(
                self.checkpoint,
                self.channels,
                [Writes((), INPUT, null_writes, ())],
                self.get_next_version,
                self.trigger_to_nodes,
            )
            if updated_channels is not None:
                updated_channels.update(changed)

    def _resume(self, time_travel: bool) -> None:
        """Go on from the checkpoint: static breakpoints wait for a new write, and a replayed
        checkpoint is forked (its interrupts fire again)."""
        seen = self.checkpoint["versions_seen"].setdefault(INTERRUPT, {})
        for key in self.channels:
            if key in self.checkpoint["channel_versions"]:
                seen[key] = self.checkpoint["channel_versions"][key]
        if time_travel and self.checkpoint_metadata.get("source") not in ("update", "fork"):
            self.pending_writes = [w for w in self.pending_writes if w[1] != INTERRUPT]
            self._put_checkpoint({"source": "fork"})
        self.emit_values()

    def _apply_input(self, value: Any, updated_channels: set[str] | None) -> set[str]:
        """Start from the input: the tasks the checkpoint still had are dropped, the input
        is written to START and saved as an ``input`` checkpoint."""
        input_writes = self._input_writes(value)
        if not input_writes:
            raise EmptyInputError(f"Received no input for {START}")
        discard = prepare_tasks(
            self.checkpoint,
            self._plan_context(),
            updated_channels=updated_channels,
            trigger_to_nodes=self.trigger_to_nodes,
        )
        for task in discard.values():
            task.writes = []
        updated = apply_writes(
            self.checkpoint,
            self.channels,
            [*discard.values(), Writes((), INPUT, input_writes, ())],
            self.get_next_version,
            self.trigger_to_nodes,
        )
        self.updated_channels = updated
        self._put_checkpoint({"source": "input"})
        return updated

    def _replay_state(self) -> ReplayState:
        """What the subgraphs of a replay load: their checkpoints from before this one (or
        before the one an update or fork was made from)."""
        replay_id = self.checkpoint["id"]
        if (
            self.checkpoint_metadata.get("source") in ("update", "fork")
            and self.prev_checkpoint_config
        ):
            replay_id = self.prev_checkpoint_config["configurable"].get("checkpoint_id", replay_id)
        return ReplayState(replay_id)

    def _input_writes(self, value: Any) -> list[tuple[str, Any]]:
        return [(START, value)]

    def _apply_command(self, command: Command[Any]) -> None:
        if command.graph == Command.PARENT:
            raise InvalidUpdateError("There is no parent graph")
        resume_is_map = False
        if command.resume is not None:
            if self.checkpointer is None and not self.is_nested:
                raise RuntimeError("Cannot use Command(resume=...) without checkpointer")
            resume = command.resume
            resume_is_map = isinstance(resume, dict) and all(is_interrupt_id(k) for k in resume)
            if resume_is_map:
                self.resume_map = {**(self.resume_map or {}), **resume}
            elif len(self._pending_interrupt_ids()) > 1:
                raise ResumeError(
                    "When there are multiple pending interrupts, you must specify the interrupt "
                    "id when resuming: Command(resume={interrupt_id: value, ...})"
                )
        writes: list[tuple[str, Any]] = []
        for target in command.goto_items():
            if isinstance(target, Send):
                writes.append((TASKS, target))
            elif isinstance(target, str):
                writes.append((f"branch:to:{target}", START))
            else:
                raise TypeError(f"In Command.goto, expected Send/str, got {type(target).__name__}")
        if command.resume is not None and not resume_is_map:
            writes.append((RESUME, command.resume))
        if command.update:
            writes.extend(command.update_items())
        if not writes and not resume_is_map:
            raise EmptyInputError("Received empty Command input")
        if writes:
            self.put_writes(NULL_TASK_ID, writes)

    # ------------------------------------------------------------------ exit

    def exit(self, error: BaseException | None) -> bool:
        """Finish the run: save what ``durability="exit"`` kept back, wait for background
        saves, and read the output. Returns True when an interrupt ends the run quietly (at
        the root)."""
        try:
            if error is not None or self.status != "done":
                self.flush_deferred()
            if self.settings.durability == "exit" and (
                not self.is_nested
                or error is not None
                or all(NS_END not in part for part in self.ns_path)
            ):
                self._put_checkpoint(self.checkpoint_metadata)
                self._put_pending_writes()
            if isinstance(error, GraphInterrupt) and not self.is_nested:
                if self.pending_writes and any(t.writes for t in self.tasks.values()):
                    changed = apply_writes(
                        self.checkpoint,
                        self.channels,
                        self.tasks.values(),
                        self.get_next_version,
                        self.trigger_to_nodes,
                    )
                    keys = (
                        (self.output_keys,)
                        if isinstance(self.output_keys, str)
                        else self.output_keys
                    )
                    if not changed.isdisjoint(keys):
                        self.emit_values()
                if not error.interrupts:
                    self.emit_interrupts(())
                self.output = read_values(self.channels, self.output_keys)
                return True
            if error is None:
                self.output = read_values(self.channels, self.output_keys)
            return False
        finally:
            self._close()
