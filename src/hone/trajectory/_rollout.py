"""One rollout: run an agent program on a task while recording its model calls as episodes,
and score episodes with a reward.

A *program* is any callable ``program(task, model) -> result`` (sync or async), for example a
closure around :func:`~hone.agent.arun_agent` or a compiled graph wrapped with
:func:`~hone.trajectory.graph_program`. A multi-role program receives a mapping instead:
``program(task, {"planner": model_a, "solver": model_b})``; each role gets its own episode.

Failures are values here too: an exception in one rollout becomes an episode with
``status="error"`` and never stops the others. Code run inside a rollout reaches its model
with :func:`hone.graph.get_model`; why the agent stopped is what its agent loop reported
(``Episode.stop_reason``), not something read from the messages.

Many rollouts at once (groups, batches, their concurrency limit, failure budget and waves)
are ``_batch``'s.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from hone._async import is_async_callable
from hone.agent._scope import AgentStop, StopReason, use_model, watch_stops
from hone.errors import ConfigError, ContextOverflowError, GraphRecursionError, TrainingError
from hone.messages import (
    AssistantMessage,
    SystemMessage,
    ToolMessage,
    UserMessage,
    new_id,
    to_message,
    to_openai,
)
from hone.models._protocol import ModelBackend
from hone.observability._rollouts import trace_rollout, trace_scoring
from hone.trajectory._context import RolloutContext, rollout_context
from hone.trajectory._recording import EpisodeRecorder, RecordingModel, recording
from hone.trajectory._schema import Episode, EpisodeStatus, task_id_of, to_jsonable

if TYPE_CHECKING:
    from hone.rewards import Reward

__all__ = [
    "ModelsLike",
    "Program",
    "RewardLike",
    "rollout",
    "rollout_unscored",
    "score_episodes",
]

logger = logging.getLogger(__name__)

#: ``program(task, model)`` or ``program(task, {role: model})``, sync or async.
Program: TypeAlias = Callable[[Any, Any], Any]
#: One backend shared by every role, or one backend per role.
ModelsLike: TypeAlias = ModelBackend | Mapping[str, ModelBackend]
#: One reward for every role, a reward per role, or None (episodes stay unscored).
RewardLike: TypeAlias = "Reward | Mapping[str, Reward] | None"
_MESSAGE_TYPES = (SystemMessage, UserMessage, AssistantMessage, ToolMessage)


def _role_models(model: ModelsLike, roles: Sequence[str] | None) -> tuple[dict[str, Any], bool]:
    """Recording models per role, and whether the program takes a mapping of them."""
    if isinstance(model, Mapping):
        if roles is not None and set(roles) != set(model):
            raise ConfigError(
                f"roles {sorted(roles)} do not match the model mapping's keys {sorted(model)}; "
                "pass one or the other"
            )
        return {role: RecordingModel(m, role) for role, m in model.items()}, True
    if roles is not None:
        if not roles or len(set(roles)) != len(roles):
            raise ConfigError(f"roles must be distinct names, got {list(roles)!r}")
        return {role: RecordingModel(model, role) for role in roles}, True
    if isinstance(model, RecordingModel):
        return {model.role: model}, False
    return {"agent": RecordingModel(model, "agent")}, False


async def _call_program(program: Program, task: Any, models: Any) -> Any:
    if is_async_callable(program):
        return await program(task, models)
    # A sync program runs in a worker thread (which copies this context, recorder included).
    result = await asyncio.to_thread(program, task, models)
    if inspect.isawaitable(result):
        result = await result
    return result


def _is_message_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(m, _MESSAGE_TYPES) for m in value)
    )


def _message_dict(message: Any) -> dict[str, Any]:
    """The OpenAI dict of a message, keeping a failed tool result's ``is_error`` flag (hone's
    one addition to the format, read back by ``from_openai``; ``Episode.tool_errors`` counts it)."""
    msg = to_message(message)
    out = to_openai(msg)
    if isinstance(msg, ToolMessage) and msg.is_error:
        out["is_error"] = True
    return out


def _split_result(result: Any) -> tuple[list[dict[str, Any]], Any]:
    """(final messages, JSON output) of a program's result."""
    messages: Any = None
    if _is_message_list(result):
        messages = result
    elif isinstance(result, Mapping) and isinstance(result.get("messages"), list):
        messages = result["messages"]
    if messages is None:
        return [], to_jsonable(result)
    try:
        dicts = [_message_dict(m) for m in messages]
    except ValueError:
        return [], to_jsonable(result)
    if messages is result:  # a bare history: its output is the final answer's text
        last = next((m for m in reversed(result) if isinstance(m, AssistantMessage)), None)
        return dicts, None if last is None else last.text
    return dicts, to_jsonable(result)


#: The stop reason of an episode whose program raised, or set this status without an agent
#: loop saying why it stopped.
_STATUS_STOPS: dict[str, StopReason] = {
    "error": "error",
    "context_overflow": "context_overflow",
    "max_steps": "step_budget",
}


@dataclass(slots=True)
class _Outcome:
    result: Any = None
    status: EpisodeStatus = "ok"
    error: str | None = None
    #: Why the program raised (None when it returned).
    raised: StopReason | None = None
    #: What its agent loops reported, in order.
    stops: list[AgentStop] = field(default_factory=list)

    def ending(self, model: Any, *, any_loop: bool) -> tuple[EpisodeStatus, StopReason | None]:
        """(status, stop reason) of the episode of the role whose model is ``model``: the
        last stop its agent loop reported (any loop's when ``any_loop``); a spent step
        budget makes an ``ok`` run ``max_steps``."""
        if self.raised is not None:
            return self.status, self.raised
        reported = next(
            (s.reason for s in reversed(self.stops) if any_loop or _wraps(s.model, model)), None
        )
        stop = reported or _STATUS_STOPS.get(self.status)
        if self.status == "ok" and stop == "step_budget":
            return "max_steps", stop
        return self.status, stop


def _wraps(model: Any, target: Any) -> bool:
    """Whether ``model`` is ``target`` or a chain of wrappers (``.backend``) around it."""
    seen: set[int] = set()
    while model is not None and id(model) not in seen:
        if model is target:
            return True
        seen.add(id(model))
        model = getattr(model, "backend", None)
    return False


async def _run(program: Program, task: Any, models: Any, recorder: EpisodeRecorder) -> _Outcome:
    # The program's graph nodes reach ``models`` with hone.graph.get_model(); its agent loops
    # report why they stopped.
    with recording(recorder), use_model(models), watch_stops() as stops:
        try:
            result = await _call_program(program, task, models)
        except ContextOverflowError as exc:
            error = f"{type(exc).__name__}: {exc}"
            return _Outcome(status="context_overflow", error=error, raised="context_overflow")
        except GraphRecursionError as exc:
            error = f"{type(exc).__name__}: {exc}"
            return _Outcome(status="max_steps", error=error, raised="step_budget")
        except Exception as exc:
            logger.warning("rollout of task failed: %s: %s", type(exc).__name__, exc)
            return _Outcome(status="error", error=f"{type(exc).__name__}: {exc}", raised="error")
    return _Outcome(result=result, status=recorder.status or "ok", stops=stops)


@trace_rollout  # its span (hone.observability)
async def rollout_unscored(
    program: Program,
    task: Any,
    model: ModelsLike,
    *,
    roles: Sequence[str] | None,
    seed: int | None,
    group_id: str | None,
    index: int = 0,
) -> list[Episode]:
    models, multi = _role_models(model, roles)
    recorder = EpisodeRecorder(seed=seed)
    task_id = task_id_of(task)
    context = RolloutContext(
        task=task,
        task_id=task_id,
        group_id=group_id,
        index=index,
        seed=seed,
        episode_ids={role: new_id("ep_") for role in models},
    )
    with rollout_context(context):
        chosen = models if multi else next(iter(models.values()))
        outcome = await _run(program, task, chosen, recorder)
    messages, output = _split_result(outcome.result)
    payload = to_jsonable(task)
    episodes: list[Episode] = []
    for role in [*models, *(r for r in recorder.calls if r not in models)]:
        calls = recorder.calls.get(role, [])
        if multi:
            per_role = _role_messages(outcome.result, role)
        else:  # the result's messages belong to the program's one role
            per_role = messages if role in models else []
        status, stop_reason = outcome.ending(
            models.get(role), any_loop=not multi and role in models
        )
        episodes.append(
            Episode(
                task_id=task_id,
                task=payload,
                role=role,
                calls=calls,
                messages=per_role if per_role else _last_call_messages(calls),
                output=output,
                status=status,
                stop_reason=stop_reason,
                error=outcome.error,
                group_id=group_id,
                seed=seed,
                metadata={**context.metadata, **recorder.metadata},
                id=context.episode_id(role),
            )
        )
    return episodes


def _role_messages(result: Any, role: str) -> list[dict[str, Any]]:
    """A multi-role program may return ``{role: messages}``; other results give none."""
    if isinstance(result, Mapping) and role in result:
        messages, _ = _split_result(result[role])
        return messages
    return []


def _last_call_messages(calls: Sequence[Any]) -> list[dict[str, Any]]:
    if not calls:
        return []
    return [*calls[-1].messages, calls[-1].output]


@trace_scoring  # its span, with an evaluation event per episode (hone.observability)
async def score_episodes(episodes: Sequence[Episode], reward: RewardLike) -> None:
    """Score a group of episodes in place, per role; failed rollouts are not scored.

    ``reward`` is one reward for every role, or a mapping of role to reward (roles missing from
    it stay unscored). Scoring never raises: a failing reward leaves ``reward=None`` and sets
    ``reward_error``.
    """
    if reward is None:
        return
    by_role: dict[str, list[Episode]] = {}
    for episode in episodes:
        if episode.status == "error":
            episode.reward_error = "not scored: the rollout failed"
            continue
        by_role.setdefault(episode.role, []).append(episode)
    for role, group in by_role.items():
        scorer = reward.get(role) if isinstance(reward, Mapping) else reward
        if scorer is not None:
            await _score_group(group, scorer)


async def _score_group(group: list[Episode], scorer: Reward) -> None:
    try:
        results = await scorer.score(group)
        if len(results) != len(group):
            raise TrainingError(
                f"the reward returned {len(results)} results for {len(group)} episodes"
            )
    except Exception as exc:
        logger.warning("reward %s failed: %s", type(scorer).__name__, exc)
        for episode in group:
            episode.reward, episode.reward_error = None, f"{type(exc).__name__}: {exc}"
        return
    for episode, result in zip(group, results, strict=True):
        episode.reward = result.value
        episode.reward_components = dict(result.components)
        episode.reward_explanation = result.explanation
        episode.reward_error = result.error


async def rollout(
    program: Program,
    task: Any,
    model: ModelsLike,
    *,
    roles: Sequence[str] | None = None,
    seed: int | None = None,
    group_id: str | None = None,
    reward: RewardLike = None,
) -> list[Episode]:
    """Run ``program`` once on ``task`` and return one scored :class:`Episode` per role.

    Args:
        program: ``program(task, model)``, or ``program(task, {role: model})`` when ``roles``
            are given or ``model`` is a mapping of role to backend.
        task: the task (any JSON-like value; its id comes from :func:`task_id_of`).
        model: the backend, shared by all roles, or one backend per role.
        roles: role names for a multi-role program sharing one backend.
        seed: the rollout's seed; model calls without a seed get one derived from it.
        group_id: copied to every episode.
        reward: a reward for every role or a mapping of role to reward; None leaves the
            episodes unscored.
    """
    episodes = await rollout_unscored(
        program, task, model, roles=roles, seed=seed, group_id=group_id
    )
    await score_episodes(episodes, reward)
    return episodes
