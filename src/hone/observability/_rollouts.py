"""Training spans: rollouts, the model calls they record, and the rewards their episodes get.

* A rollout (one run of the program on one task) is a ``rollout`` span; the program's graph
  runs and model calls nest under it. When it ends it carries ``hone.task.id``,
  ``hone.episode.ids`` (one per role), ``hone.rollout.status`` and the group, index and seed.
* A model call a ``RecordingModel`` records carries ``hone.episode.id``, ``hone.episode.role``
  and ``hone.episode.call_index``: the exact place of the call in the training data.
* Scoring a group of episodes is a ``score {reward}`` span (a judge's model calls nest under
  it), linked to the episodes' rollout spans, with one ``gen_ai.evaluation.result`` event per
  episode (``gen_ai.evaluation.name``, ``gen_ai.evaluation.score.value``,
  ``hone.episode.id``; ``error.type`` when scoring failed).
* Every span started inside :func:`~hone.observability.policy_version` carries
  ``hone.policy.version``; outside it, a rollout span takes the version its backends reported
  for its calls (``Completion.policy_version``).
"""

from __future__ import annotations

import functools
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from hone.observability._config import active_tracer, capture_content
from hone.observability._models import annotate_model_call
from hone.observability._spans import (
    ERROR_TYPE,
    POLICY_VERSION,
    attach,
    context_attributes,
    end_with_error,
)

__all__ = ["tag_episode_call", "trace_rollout", "trace_scoring"]

P = ParamSpec("P")
R = TypeVar("R")

#: The rollout span of recent episodes, so a score span can link to them (bounded: scoring
#: follows its rollouts closely).
_ROLLOUT_SPANS: OrderedDict[str, SpanContext] = OrderedDict()
_KEEP = 4096
_ERROR_NAME = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")


def tag_episode_call(rollout: Any, role: str, index: int) -> None:
    """Tag the model call running in this context with its episode (``rollout`` is the
    current ``RolloutContext`` or None); nothing outside a traced call."""
    if rollout is None or active_tracer() is None:
        return
    annotate_model_call(
        {
            "hone.episode.id": rollout.episode_id(role),
            "hone.episode.role": role,
            "hone.episode.call_index": index,
        }
    )


def _remember(episode_ids: Sequence[str], context: SpanContext) -> None:
    for episode_id in episode_ids:
        _ROLLOUT_SPANS[episode_id] = context
        _ROLLOUT_SPANS.move_to_end(episode_id)
    while len(_ROLLOUT_SPANS) > _KEEP:
        _ROLLOUT_SPANS.popitem(last=False)


def trace_rollout(
    fn: Callable[P, Awaitable[list[Any]]],
) -> Callable[P, Awaitable[list[Any]]]:
    """Decorate the function that runs one rollout and returns its episodes (one per role)
    with its ``rollout`` span; its ``seed``, ``group_id`` and ``index`` keyword arguments are
    recorded."""

    @functools.wraps(fn)
    async def traced(*args: P.args, **kwargs: P.kwargs) -> list[Any]:
        tracer = active_tracer()
        if tracer is None:
            return await fn(*args, **kwargs)
        attributes: dict[str, AttributeValue] = {**context_attributes()}
        for key in ("seed", "group_id", "index"):
            value = kwargs.get(key)
            if isinstance(value, str | int):
                attributes[f"hone.rollout.{key}"] = value
        span = tracer.start_span("rollout", kind=SpanKind.INTERNAL, attributes=attributes)
        try:
            with attach(span):
                episodes = await fn(*args, **kwargs)
        except BaseException as exc:
            end_with_error(span, exc)
            span.end()
            raise
        _finish_rollout(span, episodes)
        span.end()
        return episodes

    return traced


def _finish_rollout(span: Any, episodes: Sequence[Any]) -> None:
    if not episodes:
        return
    ids = [str(e.id) for e in episodes]
    first = episodes[0]
    span.set_attributes(
        {
            "hone.task.id": str(first.task_id),
            "hone.episode.ids": ids,
            "hone.episode.roles": [str(e.role) for e in episodes],
            "hone.rollout.status": str(first.status),
        }
    )
    if first.stop_reason is not None:
        span.set_attribute("hone.rollout.stop_reason", str(first.stop_reason))
    _policy_versions(span, episodes)
    if first.status == "error":
        match = _ERROR_NAME.match(first.error or "")
        span.set_attribute(ERROR_TYPE, match.group(1) if match else "_OTHER")
        span.set_status(Status(StatusCode.ERROR, first.error or "the rollout failed"))
    _remember(ids, span.get_span_context())


def _policy_versions(span: Any, episodes: Sequence[Any]) -> None:
    """The policy versions the backends reported for the rollout's calls, when the context
    (:func:`~hone.observability.policy_version`) named none: ``hone.policy.version`` if they
    agree, else every version in call order as ``hone.policy.versions`` (an asynchronous RL
    loop can update the weights mid-rollout)."""
    if POLICY_VERSION in context_attributes():
        return
    versions: list[int | str] = []
    for episode in episodes:
        for call in episode.calls:
            version = call.policy_version
            if version is not None and version not in versions:
                versions.append(version)
    if len(versions) == 1:
        span.set_attribute(POLICY_VERSION, versions[0])
    elif versions:
        span.set_attribute("hone.policy.versions", [str(v) for v in versions])


def _reward_name(reward: Any) -> str:
    name = getattr(reward, "name", None)
    return name if isinstance(name, str) and name else type(reward).__name__


def trace_scoring(fn: Callable[P, Awaitable[None]]) -> Callable[P, Awaitable[None]]:
    """Decorate ``score_episodes(episodes, reward)`` with its ``score`` span and one
    ``gen_ai.evaluation.result`` event per episode."""

    @functools.wraps(fn)
    async def traced(*args: P.args, **kwargs: P.kwargs) -> None:
        tracer = active_tracer()
        if tracer is None:
            await fn(*args, **kwargs)
            return
        episodes: Sequence[Any] = args[0] if args else kwargs.get("episodes", ())  # type: ignore[assignment]
        reward = args[1] if len(args) > 1 else kwargs.get("reward")
        if reward is None or not episodes:
            await fn(*args, **kwargs)
            return
        name = "score" if isinstance(reward, Mapping) else f"score {_reward_name(reward)}"
        links = [Link(context) for e in episodes if (context := _ROLLOUT_SPANS.get(str(e.id)))]
        attributes: dict[str, AttributeValue] = {
            "hone.reward.episodes": len(episodes),
            **context_attributes(),
        }
        span = tracer.start_span(name, kind=SpanKind.INTERNAL, attributes=attributes, links=links)
        try:
            with attach(span):
                await fn(*args, **kwargs)
        except BaseException as exc:
            end_with_error(span, exc)
            span.end()
            raise
        for episode in episodes:
            scorer = reward.get(episode.role) if isinstance(reward, Mapping) else reward
            if scorer is not None:
                span.add_event("gen_ai.evaluation.result", _evaluation(episode, scorer))
        span.end()

    return traced


def _evaluation(episode: Any, scorer: Any) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        "gen_ai.evaluation.name": _reward_name(scorer),
        "hone.episode.id": str(episode.id),
        "hone.episode.role": str(episode.role),
        "hone.task.id": str(episode.task_id),
    }
    if episode.reward is not None:
        attributes["gen_ai.evaluation.score.value"] = float(episode.reward)
    if episode.reward_error is not None:
        attributes[ERROR_TYPE] = "reward_error"
        attributes["hone.reward.error"] = str(episode.reward_error)
    if episode.reward_explanation and capture_content():
        attributes["gen_ai.evaluation.explanation"] = str(episode.reward_explanation)
    return attributes
