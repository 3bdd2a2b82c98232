"""``SummarizationMiddleware``: before a model call, once the conversation passes a trigger
(tokens, messages, a fraction of the model's context window), replace its older part with a
summary the summary model writes, keeping the newest messages verbatim.

The state is rewritten as LangChain's middleware rewrites it: ``RemoveMessage`` of every
message, then one user message ``"Here is a summary of the conversation to date:\\n\\n..."``,
then the kept messages. The cut never separates an assistant's tool calls from their results.
Tokens are counted with hone's approximate counter (:class:`~hone.memory.ApproximateCounter`,
LangChain's ``count_tokens_approximately`` over either message family) unless a counter is
given; the messages to summarise are fitted to ``trim_tokens_to_summarize`` with
:func:`~hone.memory.trim_messages`.
"""

from __future__ import annotations

import html
import inspect
import json
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias, TypedDict

from hone.agents.middleware._base import AgentMiddleware
from hone.agents.middleware._side_model import (
    acomplete_text,
    complete_text,
    internal_config,
    kind_of,
    side_model,
)
from hone.errors import (
    CapabilityError,
    ConfigError,
    ModelAuthError,
    ModelNotFoundError,
)
from hone.errors import ContextOverflowError as HoneContextOverflowError
from hone.graph._messages import REMOVE_ALL_MESSAGES
from hone.graph._messages import RemoveMessage as HoneRemoveMessage
from hone.interop._messages import is_langchain_message
from hone.interop._model import is_langchain_chat_model
from hone.memory import ApproximateCounter, trim_messages
from hone.memory._trim import as_hone
from hone.messages import AssistantMessage, ImagePart, TextPart, UserMessage

__all__ = [
    "DEFAULT_SUMMARY_PROMPT",
    "ContextFraction",
    "ContextMessages",
    "ContextSize",
    "ContextTokens",
    "SummarizationMiddleware",
    "TriggerClause",
]

#: A share of the model's context window (its profile's ``max_input_tokens``).
ContextFraction: TypeAlias = tuple[Literal["fraction"], float]
#: A number of tokens.
ContextTokens: TypeAlias = tuple[Literal["tokens"], int]
#: A number of messages.
ContextMessages: TypeAlias = tuple[Literal["messages"], int]
#: How much context: ``("fraction", 0.8)``, ``("tokens", 3000)`` or ``("messages", 50)``.
ContextSize: TypeAlias = ContextFraction | ContextTokens | ContextMessages


class TriggerClause(TypedDict, total=False):
    """Thresholds that must all be reached for the clause to trigger a summary (a list of
    clauses triggers when any one does): ``{"tokens": 4000, "messages": 10}``."""

    tokens: int
    messages: int
    fraction: float


#: A function counting the tokens of a list of messages.
TokenCounter: TypeAlias = Callable[[Sequence[Any]], int]

#: The default instruction of the summary call; ``{messages}`` is replaced with the
#: conversation to summarise (inside the ``<messages>`` block).
DEFAULT_SUMMARY_PROMPT = """<role>
Conversation context keeper
</role>

<task>
The conversation below is about to be removed from your context window, which is nearly
full. Write the context that will replace it: everything you need to keep working toward the
user's goal without redoing finished work, and nothing else.

Organise it under these headings; under each, write the relevant facts or "None":

## SESSION INTENT
What the user wants overall, in a few sentences.

## SUMMARY
The important context: decisions and why they were made, conclusions, approaches that were
rejected and why, facts and figures established so far.

## ARTIFACTS
Files, resources and other artifacts created, changed or read, with paths and what changed.

## NEXT STEPS
What remains to be done, and what to do next.
</task>

Reply with the extracted context only, with no text before or after it.

<messages>
Messages to summarize:
{messages}
</messages>"""

_DEFAULT_MESSAGES_TO_KEEP = 20
_DEFAULT_TRIM_TOKEN_LIMIT = 4000
_DEFAULT_FALLBACK_MESSAGE_COUNT = 15
_SUMMARY_ATTEMPTS = 3
_SUMMARY_PREFIX = "Here is a summary of the conversation to date:\n\n"

#: Providers whose messages name themselves differently from the chat model's
#: ``ls_provider`` (the key): a reported token count is trusted when either name matches.
_PROVIDER_ALIASES: dict[str, frozenset[str]] = {
    "amazon_bedrock": frozenset({"bedrock", "bedrock_converse"}),
    "openai-mantle": frozenset({"openai"}),
    "anthropic-mantle": frozenset({"anthropic"}),
}

_PROFILE_REQUIRED = (
    "Model profile information is required to use fractional token limits, and is "
    "unavailable for the specified model. Please use absolute token counts instead, or pass "
    '`\n\nChatModel(..., profile={"max_input_tokens": ...})`.\n\n'
    "with a desired integer value of the model's maximum input tokens."
)


def _provider_matches(message_provider: str, model_provider: str | None) -> bool:
    """Whether a message's ``model_provider`` is the chat model's ``ls_provider`` (or an
    alias of it)."""
    if model_provider is None:
        return False
    return message_provider == model_provider or message_provider in _PROVIDER_ALIASES.get(
        model_provider, frozenset()
    )


def count_approximately(messages: Sequence[Any]) -> int:
    """The approximate token count of ``messages`` (hone's or LangChain's)."""
    return ApproximateCounter().count(as_hone(list(messages)))


def _count_for_claude(messages: Sequence[Any]) -> int:
    return ApproximateCounter(chars_per_token=3.3).count(as_hone(list(messages)))


def _default_counter(model: Any) -> TokenCounter:
    """The approximate counter for ``model``'s tokenizer: about 3.3 characters a token for
    Anthropic's chat models (measured against their token-counting API), 4 otherwise."""
    if is_langchain_chat_model(model) and str(getattr(model, "_llm_type", "")).startswith(
        "anthropic-chat"
    ):
        return _count_for_claude
    return count_approximately


def _retryable(error: BaseException) -> bool:
    """Whether a failed summary call may succeed when repeated: not for an authentication,
    missing-model, capability or configuration error, nor for one a LangChain model marks
    as not retryable."""
    if not isinstance(error, Exception):
        return False
    if isinstance(
        error, ModelAuthError | ModelNotFoundError | CapabilityError | ConfigError | TypeError
    ):
        return False
    retryable = getattr(type(error), "is_retryable", None)
    if isinstance(retryable, bool) and type(error).__module__.startswith("langchain_core"):
        return retryable
    return True


def _overflow_errors() -> tuple[type[BaseException], ...]:
    """The errors a model raises for a prompt too long for it: hone's, and LangChain's when
    LangChain is installed."""
    try:
        from langchain_core.exceptions import ContextOverflowError
    except ImportError:  # pragma: no cover - only LangChain models raise it
        return (HoneContextOverflowError,)
    return (HoneContextOverflowError, ContextOverflowError)


def _message_tag(message: Any) -> str:
    kind = kind_of(message)
    return {"user": "human", "ai": "ai", "tool": "tool", "system": "system"}.get(
        kind or "", str(getattr(message, "type", getattr(message, "role", "message")))
    )


def _content_text(content: Any) -> str:
    """A message's content as transcript text: its text parts, and each image given by URL
    as an ``<image url="..." />`` element (inline data is left out)."""
    if isinstance(content, str):
        return content
    pieces = []
    for part in content:
        if isinstance(part, TextPart):
            pieces.append(part.text)
        elif isinstance(part, ImagePart) and not part.image_url.url.startswith("data:"):
            pieces.append(f'<image url="{html.escape(part.image_url.url)}" />')
    return " ".join(pieces)


def transcript(messages: Sequence[Any]) -> str:
    """``messages`` as the XML transcript the summary model reads: one ``<message
    type="human|ai|tool|system">`` element each, tool calls as ``<tool_call>`` elements
    (their arguments as JSON). Message metadata is left out: it would cost tokens and say
    nothing about the conversation."""
    lines = []
    for message, twin in zip(messages, as_hone(list(messages)), strict=True):
        tag = _message_tag(message)
        text = _content_text(twin.content)
        calls = twin.tool_calls if isinstance(twin, AssistantMessage) else ()
        if not calls:
            lines.append(f'<message type="{tag}">{text}</message>')
            continue
        body = [f'<message type="{tag}">']
        if text:
            body.append(f"  <content>{text}</content>")
        for call in calls:
            arguments = json.dumps(call.arguments)
            body.append(
                f'  <tool_call id="{html.escape(call.id)}" name="{html.escape(call.name)}">'
                f"{arguments}</tool_call>"
            )
        body.append("</message>")
        lines.append("\n".join(body))
    return "\n".join(lines)


class SummarizationMiddleware(AgentMiddleware[Any, Any, Any]):
    """Summarises the older part of a conversation once it outgrows a trigger.

    Args:
        model: the summary model: a LangChain chat model, a hone backend, or a hone model
            spec string. Its profile's ``max_input_tokens`` (LangChain) or ``max_context``
            (hone) sizes ``"fraction"`` triggers and keeps.
        trigger: when to summarise: a :data:`ContextSize` tuple, a :class:`TriggerClause`
            (all of its thresholds), or a list of either (any of them). None: never.
        keep: how much of the newest conversation stays verbatim (default the last 20
            messages).
        token_counter: counts a message list's tokens (default: approximately).
        summary_prompt: the summary instruction, with a ``{messages}`` placeholder.
        trim_tokens_to_summarize: the most tokens of old messages the summary call reads
            (the newest of them, whole turns); None: all of them.
        summarizer: writes the summary instead of ``model``: another chat model (or spec
            string), or a function / LangChain runnable taking the messages to summarise
            and returning the summary text (sync or async).
        max_tokens_before_summary: deprecated, ``trigger=("tokens", value)``.
        messages_to_keep: deprecated, ``keep=("messages", value)``.

    A failed summary call is retried (three attempts in all) unless the error cannot pass
    by repeating it; a call the model rejects as too long is retried once with the middle
    of the conversation cut out.

    Raises:
        ValueError: a trigger or keep value out of range or of an unknown kind, or a
            ``"fraction"`` with a model whose context window is unknown.
        TypeError: a trigger of an unsupported type.
    """

    def __init__(
        self,
        model: Any,
        *,
        trigger: ContextSize | TriggerClause | list[ContextSize | TriggerClause] | None = None,
        keep: ContextSize = ("messages", _DEFAULT_MESSAGES_TO_KEEP),
        token_counter: TokenCounter | None = None,
        summary_prompt: str = DEFAULT_SUMMARY_PROMPT,
        trim_tokens_to_summarize: int | None = _DEFAULT_TRIM_TOKEN_LIMIT,
        summarizer: Any = None,
        **deprecated_kwargs: Any,
    ) -> None:
        if "max_tokens_before_summary" in deprecated_kwargs:
            value = deprecated_kwargs.pop("max_tokens_before_summary")
            warnings.warn(
                "max_tokens_before_summary is deprecated. Use trigger=('tokens', value) instead.",
                DeprecationWarning,
                stacklevel=2,
            )
            if trigger is None and value is not None:
                trigger = ("tokens", value)
        if "messages_to_keep" in deprecated_kwargs:
            value = deprecated_kwargs.pop("messages_to_keep")
            warnings.warn(
                "messages_to_keep is deprecated. Use keep=('messages', value) instead.",
                DeprecationWarning,
                stacklevel=2,
            )
            if keep == ("messages", _DEFAULT_MESSAGES_TO_KEEP):
                keep = ("messages", value)
        if deprecated_kwargs:
            raise TypeError(
                "SummarizationMiddleware got unexpected keyword argument(s) "
                f"{', '.join(sorted(deprecated_kwargs))}"
            )
        self.model = side_model(model)
        self.trigger = self._copy_trigger(trigger)
        self._trigger_clauses = self._normalize_trigger(self.trigger)
        self._trigger_conditions = self._legacy_trigger_conditions(self.trigger)
        self.keep: ContextSize = self._validate_context_size(keep, "keep")
        self.token_counter: TokenCounter = token_counter or _default_counter(self.model)
        self._partial_token_counter: TokenCounter = self.token_counter
        self.summary_prompt = summary_prompt
        self.trim_tokens_to_summarize = trim_tokens_to_summarize
        self._summary_chat_model = self.model
        self.summarizer: Any = None
        if isinstance(summarizer, str) or _is_model(summarizer):
            self._summary_chat_model = side_model(summarizer)
        elif summarizer is not None:
            if not callable(summarizer) and not hasattr(summarizer, "invoke"):
                raise TypeError(
                    "summarizer must be a chat model, a model spec string, a runnable or a "
                    f"function of the messages, got {type(summarizer).__name__}"
                )
            self.summarizer = summarizer
        # What is called for a summary: a LangChain model wrapped in its retry runnable, a
        # hone backend as it is (retried by :meth:`_model_summary`).
        self._summary_model: Any = _with_retry(self._summary_chat_model)
        needs_profile = self.keep[0] == "fraction" or any(
            "fraction" in clause for clause in self._trigger_clauses
        )
        if needs_profile and self._get_profile_limits() is None:
            raise ValueError(_PROFILE_REQUIRED)

    # -- configuration ---------------------------------------------------------------

    @staticmethod
    def _copy_trigger(trigger: Any) -> Any:
        """``trigger`` with its dicts copied (a caller's later edits do not reach it)."""
        if isinstance(trigger, Mapping):
            return dict(trigger)
        if isinstance(trigger, list):
            return [dict(t) if isinstance(t, Mapping) else t for t in trigger]
        return trigger

    @staticmethod
    def _validate_context_size(context: Any, parameter_name: str) -> Any:
        """``context`` when its value is in range for its kind.

        Raises:
            ValueError: a fraction outside (0, 1], a count below 1, or an unknown kind.
        """
        kind, value = context
        if kind == "fraction":
            if not 0 < value <= 1:
                raise ValueError(
                    f"Fractional {parameter_name} values must be between 0 and 1, got {value}."
                )
        elif kind in ("tokens", "messages"):
            if value <= 0:
                raise ValueError(
                    f"{parameter_name} thresholds must be greater than 0, got {value}."
                )
        else:
            raise ValueError(f"Unsupported context size type {kind} for {parameter_name}.")
        return context

    def _clause(self, mapping: Mapping[str, Any]) -> TriggerClause:
        """A dict trigger, checked: known metrics, integer counts, numeric fractions.

        Raises:
            ValueError: an empty clause, an unknown metric, or a value of the wrong type or
                out of range.
        """
        if not mapping:
            raise ValueError(
                "trigger clause must specify at least one of 'tokens', 'messages', 'fraction'"
            )
        clause: dict[str, Any] = {}
        for metric, value in mapping.items():
            if metric not in ("tokens", "messages", "fraction"):
                raise ValueError(f"Unsupported trigger metric: {metric!r}")
            if isinstance(value, bool):
                raise ValueError(f"{metric} trigger value must be numeric, got {value!r}")
            if metric == "fraction" and not isinstance(value, int | float):
                raise ValueError(f"Fraction trigger values must be numeric, got {value!r}")
            if metric != "fraction" and not isinstance(value, int):
                raise ValueError(f"{metric} trigger values must be integers, got {value!r}")
            self._validate_context_size((metric, value), "trigger")
            clause[metric] = value
        return clause  # type: ignore[return-value]

    def _normalize_trigger(self, trigger: Any) -> list[TriggerClause]:
        """``trigger`` as a list of clauses (any clause triggers; all of a clause's
        thresholds must be reached).

        Raises:
            TypeError: a trigger, or a list item, that is neither a tuple nor a dict.
            ValueError: as :meth:`_validate_context_size` and :meth:`_clause`.
        """
        if trigger is None:
            return []

        def one(item: Any, where: str) -> TriggerClause:
            if isinstance(item, Mapping):
                return self._clause(item)
            if isinstance(item, tuple):
                kind, value = self._validate_context_size(item, "trigger")
                return {kind: value}  # type: ignore[misc]
            raise TypeError(f"Unsupported {where} type: {type(item)}")

        if isinstance(trigger, list):
            return [one(item, "trigger item") for item in trigger]
        return [one(trigger, "trigger")]

    def _legacy_trigger_conditions(self, trigger: Any) -> list[Any]:
        """The trigger's single-threshold items as ``(kind, value)`` tuples."""
        if trigger is None:
            return []
        items = trigger if isinstance(trigger, list) else [trigger]
        out = []
        for item in items:
            if isinstance(item, tuple):
                out.append(self._validate_context_size(item, "trigger"))
            elif isinstance(item, Mapping) and len(item) == 1:
                out.append(self._validate_context_size(next(iter(item.items())), "trigger"))
        return out

    def _get_profile_limits(self, model: Any = None) -> int | None:
        """The model's context window in tokens (LangChain's ``profile["max_input_tokens"]``,
        a hone model's ``max_context``), or None when it does not say."""
        model = self.model if model is None else model
        profile = getattr(model, "profile", None)
        limit = profile.get("max_input_tokens") if isinstance(profile, Mapping) else None
        if limit is None and not is_langchain_chat_model(model):
            limit = getattr(model, "max_context", None)
        return limit if isinstance(limit, int) and not isinstance(limit, bool) else None

    # -- when to summarise -----------------------------------------------------------

    def _should_summarize_based_on_reported_tokens(
        self, messages: Sequence[Any], threshold: float
    ) -> bool:
        """Whether the last AI message's reported total token count (from the summary
        model's own provider) reaches ``threshold``."""
        last = next((m for m in reversed(messages) if kind_of(m) == "ai"), None)
        if last is None or not is_langchain_message(last):
            return False
        usage = getattr(last, "usage_metadata", None)
        if not usage:
            return False
        reported = usage.get("total_tokens", -1)
        if not reported or reported < threshold:
            return False
        provider = (getattr(last, "response_metadata", None) or {}).get("model_provider")
        if not provider or not is_langchain_chat_model(self.model):
            return False
        return _provider_matches(provider, self.model._get_ls_params().get("ls_provider"))

    def _reaches(self, messages: Sequence[Any], total_tokens: int, threshold: float) -> bool:
        return total_tokens >= threshold or self._should_summarize_based_on_reported_tokens(
            messages, threshold
        )

    def _should_summarize(self, messages: Sequence[Any], total_tokens: int) -> bool:
        """Whether any trigger clause has all of its thresholds reached."""
        for clause in self._trigger_clauses:
            met = True
            for metric, threshold in clause.items():
                value: Any = threshold
                if metric == "messages":
                    met = len(messages) >= value
                elif metric == "tokens":
                    met = self._reaches(messages, total_tokens, float(value))
                else:
                    window = self._get_profile_limits()
                    met = window is not None and self._reaches(
                        messages, total_tokens, float(max(int(window * value), 1))
                    )
                if not met:
                    break
            if met:
                return True
        return False

    # -- where to cut ----------------------------------------------------------------

    def _determine_cutoff_index(self, messages: Sequence[Any]) -> int:
        """How many of the oldest messages to summarise, per ``keep``."""
        kind, value = self.keep
        if kind == "messages":
            return self._find_safe_cutoff(messages, int(value))
        cutoff = self._find_token_based_cutoff(messages)
        return (
            cutoff
            if cutoff is not None
            else self._find_safe_cutoff(messages, _DEFAULT_MESSAGES_TO_KEEP)
        )

    def _find_token_based_cutoff(self, messages: Sequence[Any]) -> int | None:
        """The earliest cut whose kept suffix fits the ``keep`` token budget (moved so it
        does not split tool calls from their results), or None when the budget is a
        fraction of an unknown context window."""
        if not messages:
            return 0
        kind, value = self.keep
        if kind == "fraction":
            window = self._get_profile_limits()
            if window is None:
                return None
            budget = int(window * value)
        elif kind == "tokens":
            budget = int(value)
        else:
            return None
        budget = max(budget, 1)
        if self.token_counter(list(messages)) <= budget:
            return 0
        low, high = 0, len(messages)
        while low < high:
            middle = (low + high) // 2
            if self._partial_token_counter(list(messages[middle:])) <= budget:
                high = middle
            else:
                low = middle + 1
        cutoff = low
        if cutoff >= len(messages):
            if len(messages) == 1:
                return 0
            cutoff = len(messages) - 1
        return self._find_safe_cutoff_point(messages, cutoff)

    def _find_safe_cutoff(self, messages: Sequence[Any], messages_to_keep: int) -> int:
        """The cut keeping about the last ``messages_to_keep`` messages (0: keep all)."""
        if len(messages) <= messages_to_keep:
            return 0
        return self._find_safe_cutoff_point(messages, len(messages) - messages_to_keep)

    @staticmethod
    def _find_safe_cutoff_point(messages: Sequence[Any], cutoff_index: int) -> int:
        """``cutoff_index`` moved off tool results: back to the AI message whose calls they
        answer (kept with them), or, when none is found, past them (summarised)."""
        if cutoff_index >= len(messages) or kind_of(messages[cutoff_index]) != "tool":
            return cutoff_index
        end = cutoff_index
        answered: set[str] = set()
        while end < len(messages) and kind_of(messages[end]) == "tool":
            if getattr(messages[end], "tool_call_id", None):
                answered.add(messages[end].tool_call_id)
            end += 1
        for index in range(cutoff_index - 1, -1, -1):
            message = messages[index]
            if kind_of(message) != "ai":
                continue
            ids = {c.get("id") if isinstance(c, Mapping) else c.id for c in _calls(message)}
            if answered & ids:
                return index
        return end

    @staticmethod
    def _partition_messages(
        conversation_messages: Sequence[Any], cutoff_index: int
    ) -> tuple[list[Any], list[Any]]:
        """The messages to summarise and the messages to keep."""
        return list(conversation_messages[:cutoff_index]), list(
            conversation_messages[cutoff_index:]
        )

    @staticmethod
    def _ensure_message_ids(messages: list[Any]) -> None:
        """Give every message of ``messages`` an id (LangChain's in place, hone's frozen
        ones replaced in the list by a copy)."""
        for index, message in enumerate(messages):
            if message.id is not None:
                continue
            if is_langchain_message(message):
                message.id = str(uuid.uuid4())
            else:
                messages[index] = message.model_copy(update={"id": str(uuid.uuid4())})

    @staticmethod
    def _build_new_messages(
        summary: str, family: Literal["langchain", "hone"] = "langchain"
    ) -> list[Any]:
        """The message that stands for the summarised part, in ``family``."""
        content = f"{_SUMMARY_PREFIX}{summary}"
        if family == "hone":
            return [
                UserMessage(
                    content=content, extra={"additional_kwargs": {"lc_source": "summarization"}}
                )
            ]
        from langchain_core.messages import HumanMessage

        return [HumanMessage(content=content, additional_kwargs={"lc_source": "summarization"})]

    # -- the summary ---------------------------------------------------------------

    def _trim_messages_for_summary(self, messages: list[Any]) -> list[Any]:
        """The newest whole turns of ``messages`` within ``trim_tokens_to_summarize`` (from
        a user message on); the last 15 messages when they cannot be trimmed."""
        if self.trim_tokens_to_summarize is None:
            return messages
        try:
            return trim_messages(
                messages,
                max_tokens=self.trim_tokens_to_summarize,
                token_counter=self.token_counter,
                start_on="human",
                strategy="last",
                include_system=True,
            )
        except Exception:
            return messages[-_DEFAULT_FALLBACK_MESSAGE_COUNT:]

    def _format_summary_prompt(self, messages: Sequence[Any]) -> str:
        return self.summary_prompt.format(messages=transcript(messages)).rstrip()

    def _overflow_retry_prompt(self, messages: Sequence[Any]) -> str | None:
        """A shorter prompt after the summary call overflowed the model's window: the start
        and the newest part of the transcript within half its tokens (and 40% of the
        window when known), the middle replaced by a marker; None when nothing fits."""
        text = transcript(messages)
        tokens = self._partial_token_counter([UserMessage(content=text)])
        budget = tokens // 2
        window = self._get_profile_limits(self._summary_chat_model)
        if window is not None:
            budget = min(budget, window * 2 // 5)
        keep_chars = len(text) * budget // max(tokens, 1)
        if keep_chars <= 0:
            return None
        head = keep_chars // 4
        tail = keep_chars - head
        cut = f"{text[:head]}\n\n[... middle of conversation omitted ...]\n\n{text[-tail:]}"
        return self.summary_prompt.format(messages=cut).rstrip()

    def _precheck(self, messages_to_summarize: list[Any]) -> tuple[str | None, list[Any]]:
        """The fixed answer when there is nothing to summarise, else the trimmed messages."""
        if not messages_to_summarize:
            return "No previous conversation history.", []
        trimmed = self._trim_messages_for_summary(messages_to_summarize)
        if not trimmed:
            return "Previous conversation was too long to summarize.", []
        return None, trimmed

    def _create_summary(self, messages_to_summarize: list[Any]) -> str:
        """The summary of ``messages_to_summarize`` (see the class docs on retries).

        Raises:
            TypeError: a ``summarizer`` that returned something other than text.
            Exception: the summary call's error once its retries are spent.
        """
        fixed, trimmed = self._precheck(messages_to_summarize)
        if fixed is not None:
            return fixed
        if self.summarizer is not None:
            return _checked(self._call_summarizer(trimmed))
        prompt = self._format_summary_prompt(trimmed)
        try:
            return self._model_summary(prompt)
        except _overflow_errors():
            retry = self._overflow_retry_prompt(trimmed)
            if retry is None:
                raise
            return self._model_summary(retry)

    async def _acreate_summary(self, messages_to_summarize: list[Any]) -> str:
        """Async :meth:`_create_summary`."""
        fixed, trimmed = self._precheck(messages_to_summarize)
        if fixed is not None:
            return fixed
        if self.summarizer is not None:
            return _checked(await self._acall_summarizer(trimmed))
        prompt = self._format_summary_prompt(trimmed)
        try:
            return await self._amodel_summary(prompt)
        except _overflow_errors():
            retry = self._overflow_retry_prompt(trimmed)
            if retry is None:
                raise
            return await self._amodel_summary(retry)

    def _call_summarizer(self, messages: list[Any]) -> Any:
        if hasattr(self.summarizer, "invoke"):
            return self.summarizer.invoke(messages, config=internal_config("summarization"))
        if inspect.iscoroutinefunction(self.summarizer):
            raise TypeError(
                "Cannot invoke a coroutine function synchronously: the summarizer is async; "
                "invoke the agent with ainvoke/astream, or pass a sync summarizer"
            )
        return self.summarizer(messages)

    async def _acall_summarizer(self, messages: list[Any]) -> Any:
        if hasattr(self.summarizer, "ainvoke"):
            return await self.summarizer.ainvoke(messages, config=internal_config("summarization"))
        result = self.summarizer(messages)
        return await result if inspect.isawaitable(result) else result

    def _model_summary(self, prompt: str) -> str:
        model = self._summary_model
        if hasattr(model, "invoke"):
            reply = model.invoke(prompt, config=internal_config("summarization"))
            return str(reply.text).strip()
        for attempt in range(1, _SUMMARY_ATTEMPTS + 1):
            try:
                return complete_text(model, [UserMessage(content=prompt)]).strip()
            except HoneContextOverflowError:
                raise
            except Exception as exc:
                if attempt == _SUMMARY_ATTEMPTS or not _retryable(exc):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _amodel_summary(self, prompt: str) -> str:
        model = self._summary_model
        if hasattr(model, "ainvoke"):
            reply = await model.ainvoke(prompt, config=internal_config("summarization"))
            return str(reply.text).strip()
        for attempt in range(1, _SUMMARY_ATTEMPTS + 1):
            try:
                text = await acomplete_text(model, [UserMessage(content=prompt)])
                return text.strip()
            except HoneContextOverflowError:
                raise
            except Exception as exc:
                if attempt == _SUMMARY_ATTEMPTS or not _retryable(exc):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the hook --------------------------------------------------------------------

    def _plan(self, state: Any) -> tuple[list[Any], list[Any]] | None:
        """The messages to summarise and to keep, or None: no summary now."""
        messages = list(state["messages"])
        self._ensure_message_ids(messages)
        if not self._should_summarize(messages, self.token_counter(messages)):
            return None
        cutoff = self._determine_cutoff_index(messages)
        if cutoff <= 0:
            return None
        return self._partition_messages(messages, cutoff)

    def _update(self, summary: str, kept: list[Any], summarized: list[Any]) -> dict[str, Any]:
        langchain = any(is_langchain_message(m) for m in (*summarized, *kept))
        if langchain:
            from langchain_core.messages import RemoveMessage

            remove: Any = RemoveMessage(id=REMOVE_ALL_MESSAGES)
        else:
            remove = HoneRemoveMessage(id=REMOVE_ALL_MESSAGES)
        new = self._build_new_messages(summary, "langchain" if langchain else "hone")
        return {"messages": [remove, *new, *kept]}

    def before_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Summarise the older messages when a trigger is reached.

        Raises:
            Exception: the summary call's error once its retries are spent.
        """
        plan = self._plan(state)
        if plan is None:
            return None
        summarized, kept = plan
        return self._update(self._create_summary(summarized), kept, summarized)

    async def abefore_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Async :meth:`before_model`."""
        plan = self._plan(state)
        if plan is None:
            return None
        summarized, kept = plan
        return self._update(await self._acreate_summary(summarized), kept, summarized)


def _with_retry(model: Any) -> Any:
    if is_langchain_chat_model(model):
        return model.with_retry(
            retry_if_exception_type=_retryable, stop_after_attempt=_SUMMARY_ATTEMPTS
        )
    return model


def _is_model(value: Any) -> bool:
    if value is None or isinstance(value, str):
        return False
    return is_langchain_chat_model(value) or all(
        callable(getattr(value, m, None)) for m in ("complete", "stream")
    )


def _calls(message: Any) -> list[Any]:
    return list(getattr(message, "tool_calls", None) or ())


def _checked(summary: object) -> str:
    """A summarizer's answer, stripped.

    Raises:
        TypeError: an answer that is not a string.
    """
    if not isinstance(summary, str):
        raise TypeError(f"`summarizer` must return a str, got {type(summary).__name__}.")
    return summary.strip()
