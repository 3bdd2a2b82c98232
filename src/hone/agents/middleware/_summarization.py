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

This module holds the middleware's hook and its cut; the trigger and keep configuration is
parsed in ``_summary_config``, tokens are counted and the transcript written in
``_summary_text``, and the summary call is made in ``_summary_call``. The public names of
the first two are re-exported here, where they were first defined.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from hone.agents.middleware._base import AgentMiddleware
from hone.agents.middleware._side_model import kind_of, side_model
from hone.agents.middleware._summary_call import (
    acall_summarizer,
    amodel_summary,
    call_summarizer,
    checked,
    is_model,
    model_summary,
    overflow_errors,
    with_retry,
)
from hone.agents.middleware._summary_config import (
    PROFILE_REQUIRED,
    ContextFraction,
    ContextMessages,
    ContextSize,
    ContextTokens,
    TriggerClause,
    context_window,
    copy_trigger,
    legacy_trigger_conditions,
    normalize_trigger,
    validate_context_size,
)
from hone.agents.middleware._summary_text import (
    DEFAULT_SUMMARY_PROMPT,
    TokenCounter,
    default_counter,
    provider_matches,
    transcript,
)
from hone.agents.middleware._summary_text import (
    count_approximately as count_approximately,  # re-exported: public before the split
)
from hone.graph._messages import REMOVE_ALL_MESSAGES
from hone.graph._messages import RemoveMessage as HoneRemoveMessage
from hone.interop._messages import is_langchain_message
from hone.interop._model import is_langchain_chat_model
from hone.memory import trim_messages
from hone.messages import UserMessage

__all__ = [
    "DEFAULT_SUMMARY_PROMPT",
    "ContextFraction",
    "ContextMessages",
    "ContextSize",
    "ContextTokens",
    "SummarizationMiddleware",
    "TriggerClause",
]

_DEFAULT_MESSAGES_TO_KEEP = 20
_DEFAULT_TRIM_TOKEN_LIMIT = 4000
_DEFAULT_FALLBACK_MESSAGE_COUNT = 15
_SUMMARY_PREFIX = "Here is a summary of the conversation to date:\n\n"


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
        self.trigger = copy_trigger(trigger)
        self._trigger_clauses = normalize_trigger(self.trigger)
        self._trigger_conditions = legacy_trigger_conditions(self.trigger)
        self.keep: ContextSize = validate_context_size(keep, "keep")
        self.token_counter: TokenCounter = token_counter or default_counter(self.model)
        self._partial_token_counter: TokenCounter = self.token_counter
        self.summary_prompt = summary_prompt
        self.trim_tokens_to_summarize = trim_tokens_to_summarize
        self._summary_chat_model = self.model
        self.summarizer: Any = None
        if isinstance(summarizer, str) or is_model(summarizer):
            self._summary_chat_model = side_model(summarizer)
        elif summarizer is not None:
            if not callable(summarizer) and not hasattr(summarizer, "invoke"):
                raise TypeError(
                    "summarizer must be a chat model, a model spec string, a runnable or a "
                    f"function of the messages, got {type(summarizer).__name__}"
                )
            self.summarizer = summarizer
        # What is called for a summary: a LangChain model wrapped in its retry runnable, a
        # hone backend as it is (retried by ``_summary_call.model_summary``).
        self._summary_model: Any = with_retry(self._summary_chat_model)
        needs_profile = self.keep[0] == "fraction" or any(
            "fraction" in clause for clause in self._trigger_clauses
        )
        if needs_profile and self._get_profile_limits() is None:
            raise ValueError(PROFILE_REQUIRED)

    # -- configuration ---------------------------------------------------------------

    def _get_profile_limits(self, model: Any = None) -> int | None:
        """The context window in tokens of ``model`` (default the middleware's model), or
        None when it does not say (see ``_summary_config.context_window``)."""
        return context_window(self.model if model is None else model)

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
        return provider_matches(provider, self.model._get_ls_params().get("ls_provider"))

    def _reaches(self, messages: Sequence[Any], total_tokens: int, threshold: float) -> bool:
        """Whether the counted tokens, or the provider's reported count, reach ``threshold``."""
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
        """The summary prompt with ``messages`` as its transcript."""
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
            return checked(call_summarizer(self.summarizer, trimmed))
        prompt = self._format_summary_prompt(trimmed)
        try:
            return model_summary(self._summary_model, prompt)
        except overflow_errors():
            retry = self._overflow_retry_prompt(trimmed)
            if retry is None:
                raise
            return model_summary(self._summary_model, retry)

    async def _acreate_summary(self, messages_to_summarize: list[Any]) -> str:
        """Async :meth:`_create_summary`."""
        fixed, trimmed = self._precheck(messages_to_summarize)
        if fixed is not None:
            return fixed
        if self.summarizer is not None:
            return checked(await acall_summarizer(self.summarizer, trimmed))
        prompt = self._format_summary_prompt(trimmed)
        try:
            return await amodel_summary(self._summary_model, prompt)
        except overflow_errors():
            retry = self._overflow_retry_prompt(trimmed)
            if retry is None:
                raise
            return await amodel_summary(self._summary_model, retry)

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
        """The state update: remove every message, then the summary, then ``kept``."""
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


def _calls(message: Any) -> list[Any]:
    """A message's tool calls (none when it has none)."""
    return list(getattr(message, "tool_calls", None) or ())
