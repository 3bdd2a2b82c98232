"""SFT samples from conversations: render with the student's chat template, train on the
assistant turns only.

Each model call of an episode (its input messages and its output) becomes a prompt (the input,
rendered with the generation prompt) and a completion (what the template adds for the output,
up to and including the end-of-turn token). The calls are then merged like RL samples
(:func:`~hone.train.samples_from_calls`): one sequence when every prompt extends the previous
prompt + completion, else one sample per prefix break. Template tokens (role headers, the
newline after ``<|im_end|>``) and tool results are never in the loss mask.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hone.errors import ChatTemplateError, PrefixPropertyError, TrainingConfigError
from hone.models._transformers_rows import template_message
from hone.train._samples import MergedEpisode, episode_samples, samples_from_calls
from hone.trajectory import Episode

__all__ = ["ChatCall", "SFTEpisode", "chat_calls", "render_call", "sft_samples"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChatCall:
    """One assistant turn to imitate: its input messages, its output, the tools offered."""

    messages: list[dict[str, Any]]
    output: dict[str, Any]
    tools: list[dict[str, Any]]
    enable_thinking: bool | None = None


@dataclass(frozen=True, slots=True)
class SFTEpisode:
    """The samples of one episode and how rendering went.

    ``broken_prefixes`` counts calls whose prompt did not extend the previous call;
    ``template_breaks`` counts calls whose own rendering was not a token prefix (the completion
    was then tokenised from the text difference); ``skipped_calls`` counts calls that could
    not be rendered at all.
    """

    merged: MergedEpisode | None
    broken_prefixes: int = 0
    template_breaks: int = 0
    skipped_calls: int = 0


def chat_calls(episode: Episode) -> list[ChatCall]:
    """The assistant turns of ``episode``: its recorded calls, or (for an episode without
    calls, such as an imported conversation) every assistant message of ``messages``."""
    if episode.calls:
        return [
            ChatCall(
                list(c.messages), dict(c.output), list(c.tools), c.sampling.get("enable_thinking")
            )
            for c in episode.calls
        ]
    return [
        ChatCall(list(episode.messages[:i]), dict(m), [])
        for i, m in enumerate(episode.messages)
        if m.get("role") == "assistant" and i > 0
    ]


def _render_text(
    tokenizer: Any, messages: Sequence[Mapping[str, Any]], call: ChatCall, *, prompt: bool
) -> str:
    extra: dict[str, Any] = {}
    if call.enable_thinking is not None:
        extra["enable_thinking"] = call.enable_thinking
    try:
        text = tokenizer.apply_chat_template(
            [template_message(dict(m)) for m in messages],
            tools=call.tools or None,
            add_generation_prompt=prompt,
            tokenize=False,
            **extra,
        )
    except Exception as exc:  # jinja raises its own tree; all mean "cannot render"
        raise ChatTemplateError(
            f"the chat template cannot render this conversation: {exc}"
        ) from exc
    return str(text)


def _encode(tokenizer: Any, text: str) -> list[int]:
    return [int(i) for i in tokenizer(text, add_special_tokens=False)["input_ids"]]


def _trim_after_end(completion: list[int], end_id: int | None) -> list[int]:
    """Cut template text after the last end-of-turn token (the model stops sampling there)."""
    if end_id is None or end_id not in completion:
        return completion
    last = len(completion) - 1 - completion[::-1].index(end_id)
    return completion[: last + 1]


def render_call(
    tokenizer: Any, call: ChatCall, *, strict: bool = False
) -> tuple[list[int], list[int], bool]:
    """``(prompt ids, completion ids, template_broke)`` for one assistant turn.

    The completion is what rendering the output adds after the generation prompt. When the
    template's prefix property fails (the rendering with the output does not start with the
    prompt's tokens) it raises with ``strict``, else tokenises the text difference.

    Raises:
        PrefixPropertyError: ``strict`` and the template rewrites the prompt.
        ChatTemplateError: the template cannot render the turn, or not even the text extends.
    """
    prompt_text = _render_text(tokenizer, call.messages, call, prompt=True)
    full_text = _render_text(tokenizer, [*call.messages, call.output], call, prompt=False)
    prompt, full = _encode(tokenizer, prompt_text), _encode(tokenizer, full_text)
    end_id = getattr(tokenizer, "eos_token_id", None)
    if full[: len(prompt)] == prompt:
        return prompt, _trim_after_end(full[len(prompt) :], end_id), False
    if strict:
        raise PrefixPropertyError(
            "the chat template's rendering of an assistant turn does not start with the tokens "
            "of its generation prompt; use a template with the prefix property, or strict=False."
        )
    if not full_text.startswith(prompt_text):
        raise ChatTemplateError(
            "the chat template renders the conversation differently with the assistant turn "
            "than without it; SFT cannot tell which tokens are the turn's."
        )
    return prompt, _trim_after_end(_encode(tokenizer, full_text[len(prompt_text) :]), end_id), True


def sft_samples(
    episode: Episode,
    tokenizer: Any,
    *,
    use_token_ids: bool = False,
    strict: bool = False,
) -> SFTEpisode:
    """SFT samples for one episode; the loss mask covers its assistant turns only.

    With ``use_token_ids`` and token ids on every call, the recorded ids are used as they are
    (right when the episode was sampled with this tokenizer). Otherwise each call is rendered
    with ``tokenizer``'s chat template (see :func:`render_call`).

    Raises:
        PrefixPropertyError: ``strict`` and the template or the history breaks the prefix.
    """
    if use_token_ids and episode.calls and all(c.has_tokens for c in episode.calls):
        merged = episode_samples(episode, 0.0, strict=strict)
        return SFTEpisode(merged, broken_prefixes=merged.broken_prefixes)
    prompts: list[list[int]] = []
    completions: list[list[int]] = []
    breaks = skipped = 0
    for call in chat_calls(episode):
        try:
            prompt, completion, broke = render_call(tokenizer, call, strict=strict)
        except ChatTemplateError as exc:
            logger.warning("episode %s: skipping an assistant turn: %s", episode.id, exc)
            skipped += 1
            continue
        if not completion:
            skipped += 1
            continue
        prompts.append(prompt)
        completions.append(completion)
        breaks += broke
    if not prompts:
        return SFTEpisode(None, template_breaks=breaks, skipped_calls=skipped)
    try:
        merged = samples_from_calls(
            prompts, completions, None, 0.0, group_id=episode.task_id, strict=strict
        )
    except TrainingConfigError as exc:
        raise TrainingConfigError(f"episode {episode.id}: {exc}") from exc
    return SFTEpisode(merged, merged.broken_prefixes, breaks, skipped)
