"""Episodes as the page shows them: the message and tool timeline, the tokens, the numbers,
and groups of episodes of one task side by side."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hone.trajectory import Episode, to_jsonable
from hone.view._tokens import Decoder, TokenSequence, token_sequences
from hone.view._training import Advantage, episode_advantages, loss_masks

__all__ = [
    "CallView",
    "EpisodeView",
    "GroupView",
    "MessageView",
    "ToolCallView",
    "episode_view",
    "episode_views",
    "group_views",
]


@dataclass(frozen=True, slots=True)
class ToolCallView:
    """A tool call an assistant message made."""

    name: str
    arguments: str
    id: str = ""


@dataclass(frozen=True, slots=True)
class MessageView:
    """One message of the timeline."""

    role: str
    content: str
    reasoning: str = ""
    tool_calls: list[ToolCallView] = field(default_factory=list)
    tool_call_id: str = ""
    name: str = ""
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class CallView:
    """One model call's numbers."""

    index: int
    model: str
    finish_reason: str
    prompt_tokens: int | None
    completion_tokens: int | None
    mean_logprob: float | None
    parse_errors: list[str]
    latency_s: float
    reward: float | None


@dataclass(frozen=True, slots=True)
class EpisodeView:
    """Everything the page shows of one episode."""

    id: str
    task_id: str
    group_id: str
    role: str
    status: str
    stop_reason: str | None
    reward: float | None
    reward_components: dict[str, float]
    reward_explanation: str | None
    reward_error: str | None
    advantage: float | None
    advantage_note: str
    final_answer: str
    task: str
    error: str | None
    messages: list[MessageView]
    calls: list[CallView]
    sequences: list[TokenSequence]
    created_at: float


@dataclass(frozen=True, slots=True)
class GroupView:
    """The episodes of one group (one task's rollouts for one role), side by side."""

    id: str
    task_id: str
    role: str
    episode_ids: list[str]
    reward_mean: float | None
    reward_std: float | None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else json.dumps(to_jsonable(content), ensure_ascii=False)


def _tool_call(call: Mapping[str, Any]) -> ToolCallView:
    function = call.get("function") or {}
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        arguments = json.dumps(to_jsonable(arguments), ensure_ascii=False)
    return ToolCallView(str(function.get("name", "?")), arguments, str(call.get("id") or ""))


def message_view(message: Mapping[str, Any]) -> MessageView:
    """One OpenAI-format message as the timeline shows it."""
    return MessageView(
        role=str(message.get("role", "?")),
        content=_text(message.get("content")),
        reasoning=_text(message.get("reasoning_content")),
        tool_calls=[_tool_call(c) for c in message.get("tool_calls") or [] if isinstance(c, dict)],
        tool_call_id=str(message.get("tool_call_id") or ""),
        name=str(message.get("name") or ""),
        is_error=bool(message.get("is_error")),
    )


def _call_view(episode: Episode, index: int) -> CallView:
    call = episode.calls[index]
    logprobs = call.logprobs or []
    return CallView(
        index=call.index,
        model=call.model,
        finish_reason=call.finish_reason,
        prompt_tokens=len(call.prompt_token_ids) if call.prompt_token_ids is not None else None,
        completion_tokens=len(call.token_ids) if call.token_ids is not None else None,
        mean_logprob=sum(logprobs) / len(logprobs) if logprobs else None,
        parse_errors=list(call.parse_errors),
        latency_s=call.latency_s,
        reward=call.reward,
    )


def episode_view(
    episode: Episode, *, advantage: Advantage | None = None, decode: Decoder | None = None
) -> EpisodeView:
    """``episode`` as the page shows it (``advantage`` from :func:`episode_advantages`)."""
    advantage = advantage or Advantage(None, "not computed")
    task = (
        episode.task
        if isinstance(episode.task, str)
        else json.dumps(to_jsonable(episode.task), indent=1, ensure_ascii=False)
    )
    return EpisodeView(
        id=episode.id,
        task_id=episode.task_id,
        group_id=episode.group_id or episode.task_id,
        role=episode.role,
        status=episode.status,
        stop_reason=episode.stop_reason,
        reward=episode.reward,
        reward_components=dict(episode.reward_components),
        reward_explanation=episode.reward_explanation,
        reward_error=episode.reward_error,
        advantage=advantage.value,
        advantage_note=advantage.note,
        final_answer=episode.final_answer,
        task=task,
        error=episode.error,
        messages=[message_view(m) for m in episode.transcript()],
        calls=[_call_view(episode, i) for i in range(len(episode.calls))],
        sequences=token_sequences(episode.calls, decode=decode, masks=loss_masks(episode)),
        created_at=episode.created_at,
    )


def episode_views(
    episodes: Sequence[Episode],
    *,
    decode: Decoder | None = None,
    decoders: Mapping[str, Decoder] | None = None,
) -> list[EpisodeView]:
    """Every episode's view, with advantages computed over the whole list; ``decoders``
    (by episode id) overrides ``decode`` for episodes sampled from another tokenizer."""
    advantages = episode_advantages(episodes)
    chosen = decoders or {}
    return [
        episode_view(e, advantage=advantages.get(e.id), decode=chosen.get(e.id, decode))
        for e in episodes
    ]


def _stats(rewards: list[float]) -> tuple[float | None, float | None]:
    if not rewards:
        return None, None
    mean = sum(rewards) / len(rewards)
    if len(rewards) < 2:
        return mean, 0.0
    variance = sum((r - mean) ** 2 for r in rewards) / (len(rewards) - 1)
    return mean, variance**0.5


def group_views(episodes: Sequence[EpisodeView]) -> list[GroupView]:
    """The groups the episodes form (by group and role), in order of first appearance."""
    members: dict[tuple[str, str], list[EpisodeView]] = {}
    for episode in episodes:
        members.setdefault((episode.group_id, episode.role), []).append(episode)
    groups = []
    for (group_id, role), group in members.items():
        mean, std = _stats([e.reward for e in group if e.reward is not None])
        groups.append(
            GroupView(
                id=group_id,
                task_id=group[0].task_id,
                role=role,
                episode_ids=[e.id for e in group],
                reward_mean=mean,
                reward_std=std,
            )
        )
    return groups
