"""Search over whole agent episodes: a search node is a checkpoint of a compiled agent graph.

:class:`EpisodeSearch` is a tree-search generator (``generate(parent_state | None) -> (state,
score, usage)``) whose states are JSON references to graph checkpoints
(:class:`EpisodeRef`: thread id, checkpoint id, the episode that reached it). Expanding the
root runs the agent from the task's input on a new thread; expanding a node forks that node's
checkpoint (LangGraph's time travel: ``checkpoint_id`` in the config) and runs the agent on
with a fresh seed: to the end of the episode, or ``steps`` more super-steps. A node whose
episode already ended is refined: a critique is added to its conversation
(``update_state``) and the agent runs on from there. So any tree algorithm of hone.search
(``ABMCTSA``, ``ABMCTSM``, ``MCTS``) decides between sampling a new episode (GEN at the root),
branching an episode anew from one of its checkpoints, and refining a finished one (CONT).

Every expansion is a rollout (:func:`hone.trajectory.rollout`): the model is wrapped in a
:class:`~hone.trajectory.RecordingModel`, so its calls carry token ids and logprobs and the
episode is trainable. The recorded episode holds the whole trajectory from the task's start
(the parent's calls, then this expansion's), the final conversation, the reward, and
``metadata["search"]`` (:class:`ExpansionInfo`: node, parent checkpoint and episode). An
expansion that raises is recorded as a failed episode and raised again, so the search
records a failed trial and goes on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from hone._sync import run_sync
from hone.errors import ConfigError, SearchError
from hone.messages import AnyMessage, UserMessage, new_id
from hone.models import ModelBackend
from hone.rewards import Reward
from hone.search._budget import Cost
from hone.search._state import SearchState
from hone.trajectory import (
    Episode,
    TrajectoryStore,
    derive_seed,
    rollout,
    score_episodes,
    task_id_of,
    to_jsonable,
)

__all__ = ["EpisodeRef", "EpisodeSearch", "ExpansionInfo", "default_critique"]

#: How an expansion started (see :class:`ExpansionInfo`).
ExpansionKind = Literal["root", "fork", "refine", "retry"]
#: ``critique(episode, score) -> message`` shown before refining a finished episode.
Critique = Callable[[Episode, float], AnyMessage | str]


def default_critique(episode: Episode, score: float) -> AnyMessage:
    """A user turn that tells the agent its episode's score and asks it to try again."""
    del episode
    return UserMessage(content=f"That scored {score:.2f} out of 1. Try again.")


@dataclass(frozen=True, slots=True)
class EpisodeRef:
    """A search node's state: where its episode stands in the graph's checkpoints.

    Attributes:
        thread_id: the graph thread the episode runs on.
        checkpoint_id: the checkpoint the expansion stopped at (the node's checkpoint).
        episode_id: the recorded episode that reached it (in the trajectory store).
        done: whether the graph had nothing left to run there (the episode ended).
    """

    thread_id: str
    checkpoint_id: str
    episode_id: str
    done: bool

    def to_state(self) -> dict[str, Any]:
        """The JSON data a search node stores."""
        return dataclasses.asdict(self)

    @classmethod
    def from_state(cls, state: Any) -> EpisodeRef:
        """The reference a search node's state holds.

        Raises:
            SearchError: the state is not one :meth:`to_state` made.
        """
        if isinstance(state, EpisodeRef):
            return state
        names = [f.name for f in dataclasses.fields(cls)]
        if not isinstance(state, Mapping) or any(name not in state for name in names):
            raise SearchError(f"not an episode reference (needs {', '.join(names)}): {state!r}")
        if not all(isinstance(state[name], str) for name in names[:3]):
            raise SearchError(f"thread_id, checkpoint_id and episode_id must be text: {state!r}")
        return cls(
            thread_id=state["thread_id"],
            checkpoint_id=state["checkpoint_id"],
            episode_id=state["episode_id"],
            done=bool(state["done"]),
        )


@dataclass(frozen=True, slots=True)
class ExpansionInfo:
    """What ``Episode.metadata["search"]`` records about one expansion.

    Attributes:
        search_id: the search (one task) the expansion belongs to.
        index: the expansion's number within the search (0, 1, ...).
        kind: ``root`` (from the task's input), ``fork`` (on from an unfinished checkpoint),
            ``refine`` (a critique added to a finished episode, then on), ``retry`` (a finished
            episode's last step run again).
        thread_id: the thread it ran on.
        parent_checkpoint: the checkpoint it forked (None at the root).
        parent_episode: the episode that reached that checkpoint (None at the root).
        checkpoint_id: the checkpoint it stopped at (None when it failed before one).
        own_calls: the model calls this expansion made (the episode's last ones; the
            earlier ones are its ancestors').
    """

    search_id: str
    index: int
    kind: ExpansionKind
    thread_id: str
    parent_checkpoint: str | None = None
    parent_episode: str | None = None
    checkpoint_id: str | None = None
    own_calls: int = 0


@dataclass(slots=True)
class _Run:
    """What the program saw of its graph run: the last checkpoint chunk."""

    last: Mapping[str, Any] | None = None
    info: ExpansionInfo | None = None


class EpisodeSearch:
    """A tree-search generator over whole episodes of a compiled agent graph on one task.

    ::

        searcher = EpisodeSearch(graph, task, policy, reward, store=store)
        state = await asearch(ABMCTSA(), {"agent": searcher.agenerate}, budget=16)
        best = searcher.best_episode(state)

    Args:
        graph: a compiled graph with a checkpointer (hone's or LangGraph's); its nodes call
            the model through :func:`hone.graph.get_model`.
        task: the task (JSON-like; ``make_input`` turns it into the graph's input).
        model: the backend (recorded: keep token ids for training).
        reward: scores each expansion's episode, in [0, 1].
        make_input: task -> graph input (default: a string becomes a user message, a mapping
            is the input).
        store: where every expansion's episode is recorded (None: kept in memory only,
            :attr:`episodes`).
        run: the store's run name.
        steps: super-steps an expansion runs at most (None: to the end of the episode).
        on_done: what expanding a finished episode does: ``"critique"`` adds ``critique``'s
            message and runs on; ``"retry_last"`` forks the checkpoint before the episode's
            last super-step and runs it again with a fresh seed (the trajectory stays free of
            failed attempts; its last model call is dropped from the recorded prefix, so use
            it with graphs that make one model call per super-step).
        critique: the message added before refining a finished episode; None refuses to
            refine (such an expansion fails).
        messages_key: the state key the critique is added under.
        as_node: the node the critique update is written as (None: the graph's choice, as in
            ``update_state``).
        recursion_limit: the graph's super-step limit per expansion.
        seed: expansion ``i`` is a rollout seeded with ``derive_seed(seed, task_id, i)``.
        search_id: copied to every episode's ``group_id`` (default: a new id).
    """

    def __init__(
        self,
        graph: Any,
        task: Any,
        model: ModelBackend,
        reward: Reward,
        *,
        make_input: Callable[[Any], Any] | None = None,
        store: TrajectoryStore | None = None,
        run: str = "search",
        steps: int | None = None,
        on_done: Literal["critique", "retry_last"] = "critique",
        critique: Critique | None = default_critique,
        messages_key: str = "messages",
        as_node: str | None = None,
        recursion_limit: int = 50,
        seed: int = 0,
        search_id: str | None = None,
    ) -> None:
        for name in ("astream", "aupdate_state"):
            if not callable(getattr(graph, name, None)):
                raise ConfigError(f"EpisodeSearch needs a compiled graph; {graph!r} has no {name}")
        if getattr(graph, "checkpointer", None) in (None, False):
            raise ConfigError(
                "EpisodeSearch forks checkpoints: compile the graph with a checkpointer "
                "(graph.compile(checkpointer=InMemorySaver()))"
            )
        if not isinstance(reward, Reward):
            raise ConfigError(f"reward must be a hone Reward, got {type(reward).__name__}")
        if on_done not in ("critique", "retry_last"):
            raise ConfigError(f"on_done must be 'critique' or 'retry_last', got {on_done!r}")
        if steps is not None and steps < 1:
            raise ConfigError(f"steps must be at least 1 or None, got {steps}")
        self.graph, self.task, self.model, self.reward = graph, task, model, reward
        self.make_input = make_input or _default_input
        self.store, self.run, self.steps, self.on_done = store, run, steps, on_done
        self.critique, self.messages_key, self.as_node = critique, messages_key, as_node
        self.recursion_limit, self.seed = recursion_limit, seed
        self.search_id = search_id or new_id("search-")
        self.task_id = task_id_of(task)
        #: Every expansion's episode by id, failed ones included, in the order recorded.
        self.episodes: dict[str, Episode] = {}
        self._counter = itertools.count()

    async def agenerate(self, parent: Any) -> tuple[dict[str, Any], float, Cost]:
        """Expand ``parent`` (None: the root); return the new node's state, score and cost:
        this expansion's own model calls and their tokens (a :class:`~hone.search.Cost`, a
        Usage that counts model calls, so ``Budget(model_calls=...)`` counts them all).

        Raises:
            SearchError: the parent is not an episode reference, the expansion failed, or its
                episode got no score (the search records a failed trial).
        """
        ref = None if parent is None else EpisodeRef.from_state(parent)
        index = next(self._counter)
        seen = _Run()
        try:
            episodes = await rollout(
                self._program(ref, index, seen),
                self.task,
                self.model,
                seed=derive_seed(self.seed, self.task_id, index),
                group_id=self.search_id,
            )
        except asyncio.CancelledError:  # a timeout: record what is known, then stop
            self._record(self._failed(ref, index, "the expansion was cancelled (timed out)"))
            raise
        episode = self._assemble(episodes[0], ref, seen, index)
        if episode.status == "error" or seen.last is None:
            self._record(episode)
            raise SearchError(f"the expansion failed: {episode.error or 'no checkpoint'}")
        await score_episodes([episode], self.reward)
        self._record(episode)
        if episode.reward is None:
            raise SearchError(f"the episode got no reward: {episode.reward_error}")
        info = cast(ExpansionInfo, seen.info)
        new = EpisodeRef(info.thread_id, str(info.checkpoint_id), episode.id, not seen.last["next"])
        return new.to_state(), float(episode.reward), _usage(episode, info.own_calls)

    def generate(self, parent: Any) -> tuple[dict[str, Any], float, Cost]:
        """The sync shell of :meth:`agenerate`."""
        return run_sync(self.agenerate(parent))

    def episode(self, state: Any) -> Episode:
        """The episode behind a search node's state.

        Raises:
            SearchError: the state is not a reference, or its episode is not this search's.
        """
        ref = EpisodeRef.from_state(state)
        found = self.episodes.get(ref.episode_id)
        if found is None:
            raise SearchError(f"episode {ref.episode_id!r} was not recorded by this search")
        return found

    def best_episode(self, state: SearchState[Any]) -> Episode | None:
        """The episode of the best-scoring node (None when no node was added)."""
        node = state.best()
        return None if node is None else self.episode(node.state)

    # -- internals -------------------------------------------------------------------------

    def _program(
        self, ref: EpisodeRef | None, index: int, seen: _Run
    ) -> Callable[[Any, Any], Awaitable[Any]]:
        async def program(task: Any, model: Any) -> Any:
            del model  # the rollout hands the graph its recording model (get_model)
            if ref is None:
                thread = f"{self.search_id}-{index}"
                config: dict[str, Any] = {"configurable": {"thread_id": thread}}
                graph_input = self.make_input(task)
            else:
                thread, graph_input = ref.thread_id, None
                config = {"configurable": {"thread_id": thread, "checkpoint_id": ref.checkpoint_id}}
                kind = _kind(ref, self.on_done)
                if kind == "refine":
                    config = await self._add_critique(ref, config)
                elif kind == "retry":
                    config = await self._before_last(config)
            seen.info = self._info(ref, index)
            seen.last, ran = await self._run_graph(graph_input, config)
            if not ran:
                at = config["configurable"].get("checkpoint_id")
                raise SearchError(
                    f"the graph ran no step from checkpoint {at} (was the critique written "
                    "as a node whose edges end the run? pass as_node=)"
                )
            return seen.last["values"] if seen.last is not None else None

        return program

    async def _add_critique(self, ref: EpisodeRef, config: dict[str, Any]) -> dict[str, Any]:
        if self.critique is None:
            raise SearchError("this episode has ended and the search has no critique to refine it")
        parent = self.episodes.get(ref.episode_id)
        if parent is None:
            raise SearchError(f"episode {ref.episode_id!r} was not recorded by this search")
        message = self.critique(parent, parent.reward or 0.0)
        if isinstance(message, str):
            message = UserMessage(content=message)
        updated = await self.graph.aupdate_state(
            config, {self.messages_key: [message]}, as_node=self.as_node
        )
        return {"configurable": dict(updated["configurable"])}

    async def _before_last(self, config: dict[str, Any]) -> dict[str, Any]:
        snapshot = await self.graph.aget_state(config)
        parent = getattr(snapshot, "parent_config", None)
        if not parent:
            raise SearchError("this episode has no checkpoint before its last step to retry")
        return {"configurable": dict(parent["configurable"])}

    async def _run_graph(
        self, graph_input: Any, config: dict[str, Any]
    ) -> tuple[Mapping[str, Any] | None, bool]:
        """Run the graph; return the last checkpoint this run wrote (forks of one thread may
        run at once, so the thread's latest checkpoint may be another branch's) and whether
        any step ran."""
        last: Mapping[str, Any] | None = None
        ran = False
        # A run from the input first writes the input's own step (0); a fork's first step
        # follows its parent's checkpoint. ``base`` is the step the expansion started from.
        base: int | None = 0 if graph_input is not None else None
        stream = self.graph.astream(
            graph_input,
            {**config, "recursion_limit": self.recursion_limit},
            stream_mode="checkpoints",
            durability="sync",
        )
        try:
            async for chunk in stream:
                last = chunk
                metadata = chunk.get("metadata") or {}
                if metadata.get("source") != "loop":
                    continue
                ran = True
                if self.steps is None:
                    continue
                step = int(metadata.get("step", 0))
                base = step - 1 if base is None else base
                if step - base >= self.steps:
                    break
        finally:
            await stream.aclose()
        return last, ran

    def _assemble(
        self, episode: Episode, ref: EpisodeRef | None, seen: _Run, index: int
    ) -> Episode:
        """The whole trajectory: the parent's calls, then this expansion's."""
        own = len(episode.calls)
        prefix = [] if ref is None else list(self._parent_calls(ref))
        if ref is not None and _kind(ref, self.on_done) == "retry":
            prefix = prefix[:-1]  # the retried step's call
        episode.calls = [
            dataclasses.replace(call, index=i) for i, call in enumerate([*prefix, *episode.calls])
        ]
        info = seen.info or self._info(ref, index)
        checkpoint = None if seen.last is None else seen.last["config"]["configurable"]
        seen.info = dataclasses.replace(
            info,
            checkpoint_id=None if checkpoint is None else str(checkpoint["checkpoint_id"]),
            own_calls=own,
        )
        episode.metadata["search"] = to_jsonable(seen.info)
        return episode

    def _parent_calls(self, ref: EpisodeRef) -> list[Any]:
        parent = self.episodes.get(ref.episode_id)
        return [] if parent is None else list(parent.calls)

    def _info(self, ref: EpisodeRef | None, index: int) -> ExpansionInfo:
        if ref is None:
            return ExpansionInfo(self.search_id, index, "root", f"{self.search_id}-{index}")
        kind = _kind(ref, self.on_done)
        return ExpansionInfo(
            self.search_id, index, kind, ref.thread_id, ref.checkpoint_id, ref.episode_id
        )

    def _failed(self, ref: EpisodeRef | None, index: int, error: str) -> Episode:
        info = self._info(ref, index)
        return Episode(
            task_id=self.task_id,
            task=to_jsonable(self.task),
            status="error",
            stop_reason="error",
            error=error,
            group_id=self.search_id,
            metadata={"search": to_jsonable(info)},
        )

    def _record(self, episode: Episode) -> None:
        self.episodes[episode.id] = episode
        if self.store is not None:
            self.store.add([episode], run=self.run)


def _kind(ref: EpisodeRef, on_done: str) -> ExpansionKind:
    if not ref.done:
        return "fork"
    return "refine" if on_done == "critique" else "retry"


def _default_input(task: Any) -> Any:
    if isinstance(task, str):
        return {"messages": [UserMessage(content=task)]}
    if isinstance(task, Mapping):
        return dict(task)
    raise ConfigError(
        f"EpisodeSearch cannot make a graph input from a {type(task).__name__} task; "
        "pass make_input=..."
    )


def _usage(episode: Episode, own_calls: int) -> Cost:
    """This expansion's own model calls and their tokens."""
    calls = episode.calls[len(episode.calls) - own_calls :] if own_calls else []
    return Cost(
        prompt_tokens=sum(int(c.usage.get("prompt_tokens", 0)) for c in calls),
        completion_tokens=sum(int(c.usage.get("completion_tokens", 0)) for c in calls),
        model_calls=own_calls,
    )
