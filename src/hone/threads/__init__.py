"""Agents that manage their own context: Thread/TIM task trees.

The model writes one JSON object, a *thread* (``{"reasoning": <task>, "answer": ...}``, a task
being ``{"thought", "tooluse"?, "subtasks"?, "conclusion"}``); tools run inside the thread
(``tooluse``'s ``tool_result`` is written by the runtime), and when subtask lists are finished
their internals leave the working memory and only their conclusions stay (TIM's pruning rule,
:class:`PruneRule`). See docs/threads.md.

* the protocol: :class:`ThreadSchema` (JSON schema, decoding grammar, instructions),
  :class:`ThreadParser` (streaming, never raises), :func:`parse_thread`, :class:`Thread`;
* running: :func:`arun_threads` / :func:`run_threads` (one decoding request per thread on a
  local ``TransformersModel``, tool results and pruning in the KV cache; call by call on any
  other backend, pruning on the text), and the flat baseline :func:`arun_flat`;
* training data: every local episode's :class:`ThreadTrace` (visibility and position of each
  token) and :func:`trace_batch` / :func:`score_traces` (one forward pass per episode);
  :func:`result_samples` / :func:`trace_sample` turn episodes into ``hone.train`` samples;
* a benchmark task: :class:`LookupSuite`.

The names that need torch (:func:`trace_batch`, :func:`score_traces`, :func:`attention_bias`,
:func:`token_logprobs`, :class:`TraceBatch`, :func:`result_samples`, :func:`trace_sample`)
are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hone.threads._episode import ThreadEpisode, ThreadStop, Written, notice_text, result_tail
from hone.threads._events import (
    Location,
    ParsedThread,
    Span,
    SubtasksClosed,
    TaskSpan,
    ThreadClosed,
    ThreadError,
    ThreadEvent,
    ToolCallReady,
)
from hone.threads._flat import FLAT_SYSTEM_PROMPT, FlatResult, arun_flat, run_flat
from hone.threads._lookup import LookupSuite, LookupTask, LookupTreeTeacher
from hone.threads._options import Runtime, ThreadOptions, ThreadResult, ThreadStats
from hone.threads._parser import ThreadParser, parse_thread
from hone.threads._per_call import CONTINUE_PROMPT
from hone.threads._prune import Pruner, PruneRule, pruned_text
from hone.threads._run import ThreadTask, arun_threads, run_threads, thread_messages
from hone.threads._schema import DEFAULT_MAX_DEPTH, ThreadSchema, ThreadTool
from hone.threads._teacher import ForcedTokens, Teacher, TeacherForcedModel
from hone.threads._trace import ThreadTrace, TokenKind
from hone.threads._tree import Task, Thread, ToolUse

if TYPE_CHECKING:
    from hone.threads._masks import (
        TraceBatch,
        attention_bias,
        score_traces,
        token_logprobs,
        trace_batch,
    )
    from hone.threads._train import result_samples, trace_sample

__all__ = [
    "CONTINUE_PROMPT",
    "DEFAULT_MAX_DEPTH",
    "FLAT_SYSTEM_PROMPT",
    "FlatResult",
    "ForcedTokens",
    "Location",
    "LookupSuite",
    "LookupTask",
    "LookupTreeTeacher",
    "ParsedThread",
    "PruneRule",
    "Pruner",
    "Runtime",
    "Span",
    "SubtasksClosed",
    "Task",
    "TaskSpan",
    "Teacher",
    "TeacherForcedModel",
    "Thread",
    "ThreadClosed",
    "ThreadEpisode",
    "ThreadError",
    "ThreadEvent",
    "ThreadOptions",
    "ThreadParser",
    "ThreadResult",
    "ThreadSchema",
    "ThreadStats",
    "ThreadStop",
    "ThreadTask",
    "ThreadTool",
    "ThreadTrace",
    "TokenKind",
    "ToolCallReady",
    "ToolUse",
    "TraceBatch",
    "Written",
    "arun_flat",
    "arun_threads",
    "attention_bias",
    "notice_text",
    "parse_thread",
    "pruned_text",
    "result_samples",
    "result_tail",
    "run_flat",
    "run_threads",
    "score_traces",
    "thread_messages",
    "token_logprobs",
    "trace_batch",
    "trace_sample",
]

_TORCH_NAMES = {"TraceBatch", "attention_bias", "score_traces", "token_logprobs", "trace_batch"}
_TRAIN_NAMES = {"result_samples", "trace_sample"}


def __getattr__(name: str) -> Any:
    if name in _TORCH_NAMES:
        from hone.threads import _masks

        return getattr(_masks, name)
    if name in _TRAIN_NAMES:
        from hone.threads import _train

        return getattr(_train, name)
    raise AttributeError(f"module 'hone.threads' has no attribute {name!r}")
