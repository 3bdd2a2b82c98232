"""Short-term memory: what of a long conversation the model sees, without changing the
history that is stored.

* :func:`trim_messages` — drop the oldest turns to fit a token budget, an assistant's tool
  calls and their results kept or dropped together, the system prompt always kept.
* :func:`summarize_messages` / :class:`SummarizationNode` — fold old turns into a running
  summary the model writes; the newest turns stay verbatim.
* :class:`TrimPolicy` / :class:`SummaryPolicy` — the same for ``run_agent``
  (``AgentOptions(context=...)``).

Tokens are counted with the model's own chat template when it is a local hone model (exact),
otherwise approximately (:class:`ApproximateCounter`). Works on hone and LangChain messages;
in graphs, as a node or ``create_react_agent``'s ``pre_model_hook`` (LangGraph's
``llm_input_messages`` key). See docs/memory.md.
"""

from __future__ import annotations

from hone.memory._count import ApproximateCounter, ChatTemplateCounter, TokenCounter, token_counter
from hone.memory._policy import ContextPolicy, SummaryPolicy, TrimPolicy
from hone.memory._summary import (
    SUMMARY_PROMPT,
    RunningSummary,
    SummarizationNode,
    SummarizationResult,
    asummarize_messages,
    summarize_messages,
)
from hone.memory._trim import CounterLike, trim_messages

__all__ = [
    "SUMMARY_PROMPT",
    "ApproximateCounter",
    "ChatTemplateCounter",
    "ContextPolicy",
    "CounterLike",
    "RunningSummary",
    "SummarizationNode",
    "SummarizationResult",
    "SummaryPolicy",
    "TokenCounter",
    "TrimPolicy",
    "asummarize_messages",
    "summarize_messages",
    "token_counter",
    "trim_messages",
]
