"""A running summary: old turns folded into a summary the model writes, the newest turns
kept verbatim, the stored history left as it is.

Each call looks at the messages not yet summarised. While they fit
``max_tokens_before_summary`` (default ``max_tokens``) beside the system prompt and the
summary, they are sent as they are. Once they do not, the newest turns that fit
``max_tokens - max_summary_tokens`` stay and the older ones are folded, with the previous
summary, into a new one (one model call of at most ``max_summary_tokens`` tokens). What the
model then sees is: the system messages, the summary as a user message, the kept turns.

The state is a :class:`RunningSummary` (data, checkpointable): how many messages after the
system prompt it covers and the id of the last one, so a history that was edited behind its
back is summarised again from the start instead of being misread. Names follow LangMem's
short-term memory (``summarize_messages``, ``SummarizationNode``, ``RunningSummary``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hone._sync import run_sync
from hone.errors import ConfigError, ContextBudgetError
from hone.interop._messages import is_langchain_message, to_langchain
from hone.interop._model import ModelLike, resolve_model
from hone.memory._trim import CounterLike, as_hone, bisect, count_with, turns
from hone.messages import (
    AnyMessage,
    AssistantMessage,
    SystemMessage,
    ToolMessage,
    UserMessage,
    text_of,
)
from hone.models._protocol import ChatRequest, ModelBackend, SamplingOptions

__all__ = [
    "SUMMARY_PROMPT",
    "RunningSummary",
    "SummarizationNode",
    "SummarizationResult",
    "asummarize_messages",
    "summarize_messages",
]

#: The instruction of the summarising call.
SUMMARY_PROMPT = (
    "You maintain a running summary of a conversation between a user and an assistant that "
    "uses tools. Merge the previous summary with the new messages into one concise summary "
    "that keeps every fact, name, number, decision, tool result and open question the "
    "assistant may need later. Reply with the summary only."
)
#: How the summary is shown to the model.
SUMMARY_HEADER = "Summary of the conversation so far:\n"


@dataclass(frozen=True, slots=True)
class RunningSummary:
    """What has been summarised so far.

    Attributes:
        summary: the summary text.
        summarized_count: how many messages after the leading system messages it covers.
        last_summarized_message_id: the id of the last of them (None when it had none).
    """

    summary: str
    summarized_count: int
    last_summarized_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class SummarizationResult:
    """The messages to send and the summary state to keep.

    Attributes:
        messages: the system messages, the summary (a user message) when there is one, the
            turns not summarised (hone or LangChain messages, as given).
        running_summary: the state for the next call (None while nothing was summarised).
    """

    messages: list[Any]
    running_summary: RunningSummary | None


def _transcript(messages: Sequence[AnyMessage]) -> str:
    lines = []
    for message in messages:
        text = text_of(message.content)
        if isinstance(message, AssistantMessage) and message.tool_calls:
            calls = ", ".join(f"{c.name}({c.arguments})" for c in message.tool_calls)
            text = f"{text}\n[calls {calls}]".strip()
        if isinstance(message, ToolMessage):
            lines.append(f"tool result: {text}")
        else:
            lines.append(f"{message.role}: {text}")
    return "\n".join(lines)


def _resume_point(body: Sequence[AnyMessage], previous: RunningSummary | None) -> int:
    """How many messages of ``body`` ``previous`` covers (0 when it does not match)."""
    if previous is None or not 0 < previous.summarized_count <= len(body):
        return 0
    last = body[previous.summarized_count - 1]
    if (
        previous.last_summarized_message_id is not None
        and last.id != previous.last_summarized_message_id
    ):
        return 0
    return previous.summarized_count


async def asummarize_messages(
    messages: Sequence[Any],
    *,
    running_summary: RunningSummary | None,
    model: ModelLike,
    max_tokens: int,
    max_tokens_before_summary: int | None = None,
    max_summary_tokens: int = 256,
    token_counter: CounterLike | None = None,
    options: SamplingOptions | None = None,
    prompt: str = SUMMARY_PROMPT,
) -> SummarizationResult:
    """The messages to send, with old turns folded into the running summary when the
    unsummarised ones outgrow ``max_tokens_before_summary`` (see the module docstring).

    Args:
        messages: the full history (hone or LangChain messages); never changed.
        running_summary: the state the previous call returned (None at first).
        model: the model that writes the summary.
        max_tokens: the budget of what is sent (summary and kept turns included).
        max_tokens_before_summary: summarise once the unsummarised turns exceed this
            (default ``max_tokens``).
        max_summary_tokens: the longest summary the model may write.
        token_counter: how to count (default: ``model``'s chat template, else the
            approximation).
        options: sampling options of the summarising call (``max_tokens`` is set to
            ``max_summary_tokens``).
        prompt: the summarising instruction.

    Raises:
        ContextBudgetError: ``max_summary_tokens`` leaves no room within ``max_tokens``, or
            the system prompt with the newest turn does not fit.
    """
    if not 0 < max_summary_tokens < max_tokens:
        raise ContextBudgetError(
            f"max_summary_tokens={max_summary_tokens} must be positive and below "
            f"max_tokens={max_tokens}"
        )
    backend: ModelBackend = resolve_model(model)
    count = count_with(token_counter if token_counter is not None else backend)
    given = list(messages)
    hone = as_hone(given)
    langchain = any(is_langchain_message(m) for m in given)
    system_end = 0
    while system_end < len(hone) and isinstance(hone[system_end], SystemMessage):
        system_end += 1
    body = hone[system_end:]
    start = _resume_point(body, running_summary)
    summary = running_summary.summary if start and running_summary is not None else ""

    def note(text: str) -> UserMessage:
        return UserMessage(id="running-summary", content=SUMMARY_HEADER + text)

    def view(text: str, first: int) -> tuple[list[Any], list[AnyMessage]]:
        extra = [note(text)] if text else []
        kept_given = given[system_end + first :]
        shown = [to_langchain(m) for m in extra] if langchain else extra
        return (
            given[:system_end] + shown + kept_given,
            hone[:system_end] + extra + hone[system_end + first :],
        )

    threshold = max_tokens_before_summary or max_tokens
    shown_given, shown_hone = view(summary, start)
    if count(shown_given, shown_hone, ()) <= threshold:
        return SummarizationResult(shown_given, running_summary if start else None)

    units = [(s + start, e + start) for s, e in turns(body[start:])]
    room = max_tokens - max_summary_tokens
    system_given, system_hone = given[:system_end], hone[:system_end]

    def fits(k: int) -> bool:  # the newest k turns fit ``room`` beside the system prompt
        first = units[len(units) - k][0]
        kept_given = system_given + given[system_end + first :]
        return count(kept_given, system_hone + body[first:], ()) <= room

    keep = bisect(len(units), fits)
    if keep == 0:
        raise ContextBudgetError(
            f"the system prompt and the newest turn do not fit max_tokens - "
            f"max_summary_tokens = {room} tokens; raise max_tokens"
        )
    # Fold at least the oldest turn: the unsummarised turns outgrew the threshold.
    keep = min(keep, len(units) - 1)
    if keep == 0:
        return SummarizationResult(shown_given, running_summary if start else None)
    cut = units[len(units) - keep][0]
    folded = body[start:cut]
    request = f"Previous summary:\n{summary or '(none)'}\n\nNew messages:\n{_transcript(folded)}"
    completion = await backend.complete(
        ChatRequest(
            messages=(SystemMessage(content=prompt), UserMessage(content=request)),
            options=(options or SamplingOptions()).with_(max_tokens=max_summary_tokens),
        )
    )
    new_summary = text_of(completion.message.content).strip()
    state = RunningSummary(new_summary, cut, body[cut - 1].id)
    out_given, _ = view(new_summary, cut)
    return SummarizationResult(out_given, state)


def summarize_messages(
    messages: Sequence[Any],
    *,
    running_summary: RunningSummary | None,
    model: ModelLike,
    max_tokens: int,
    max_tokens_before_summary: int | None = None,
    max_summary_tokens: int = 256,
    token_counter: CounterLike | None = None,
    options: SamplingOptions | None = None,
    prompt: str = SUMMARY_PROMPT,
) -> SummarizationResult:
    """Synchronous :func:`asummarize_messages`."""
    return run_sync(
        asummarize_messages(
            messages,
            running_summary=running_summary,
            model=model,
            max_tokens=max_tokens,
            max_tokens_before_summary=max_tokens_before_summary,
            max_summary_tokens=max_summary_tokens,
            token_counter=token_counter,
            options=options,
            prompt=prompt,
        )
    )


class SummarizationNode:
    """A graph node (or ``create_react_agent``'s ``pre_model_hook``) that keeps a running
    summary in the state and writes the messages to send to ``output_messages_key``, leaving
    the history in ``input_messages_key`` as it is.

    The summary state lives in the state's ``context`` key, as
    ``context["running_summary"]`` (LangMem's layout); give the graph's state a
    ``context: dict`` key. For ``create_react_agent``, use
    ``output_messages_key="llm_input_messages"``: the model then sees the summarised view.

    Args:
        model: the model that writes summaries.
        max_tokens, max_tokens_before_summary, max_summary_tokens, token_counter, options,
            prompt: as :func:`asummarize_messages`.
        input_messages_key: the state key holding the history.
        output_messages_key: the state key the view is written to.

    Raises:
        ConfigError: ``output_messages_key`` equal to ``input_messages_key`` (that would
            replace the stored history).
    """

    def __init__(
        self,
        model: ModelLike,
        *,
        max_tokens: int,
        max_tokens_before_summary: int | None = None,
        max_summary_tokens: int = 256,
        token_counter: CounterLike | None = None,
        options: SamplingOptions | None = None,
        prompt: str = SUMMARY_PROMPT,
        input_messages_key: str = "messages",
        output_messages_key: str = "summarized_messages",
    ) -> None:
        if output_messages_key == input_messages_key:
            raise ConfigError(
                "output_messages_key must differ from input_messages_key: the summarised view "
                "would replace the stored history"
            )
        self.model = resolve_model(model)
        self.max_tokens = max_tokens
        self.max_tokens_before_summary = max_tokens_before_summary
        self.max_summary_tokens = max_summary_tokens
        self.token_counter = token_counter
        self.options = options
        self.prompt = prompt
        self.input_messages_key = input_messages_key
        self.output_messages_key = output_messages_key

    async def __call__(self, state: Mapping[str, Any]) -> dict[str, Any]:
        context = dict(state.get("context") or {})
        result = await asummarize_messages(
            list(state[self.input_messages_key]),
            running_summary=context.get("running_summary"),
            model=self.model,
            max_tokens=self.max_tokens,
            max_tokens_before_summary=self.max_tokens_before_summary,
            max_summary_tokens=self.max_summary_tokens,
            token_counter=self.token_counter,
            options=self.options,
            prompt=self.prompt,
        )
        update: dict[str, Any] = {self.output_messages_key: result.messages}
        if result.running_summary is not None:
            context["running_summary"] = result.running_summary
            update["context"] = context
        return update
