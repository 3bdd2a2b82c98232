"""How a thread runs, and what a finished one reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from hone.errors import ConfigError
from hone.models._protocol import Completion, SamplingOptions
from hone.threads._episode import ThreadStop
from hone.threads._events import ThreadError
from hone.threads._prune import PruneRule
from hone.threads._schema import DEFAULT_MAX_DEPTH
from hone.threads._trace import ThreadTrace
from hone.threads._tree import Thread
from hone.tools import ExecutionOptions

__all__ = ["Runtime", "ThreadOptions", "ThreadResult", "ThreadStats"]

#: Which runtime runs the threads: "single_request" decodes each thread in one request on a
#: local Transformers model (tool results written into the KV cache, pruning in the cache);
#: "per_call" works with any backend (each tool result ends a call; the next call sends the
#: pruned text again); "auto" picks "single_request" for a ``TransformersModel``.
Runtime: TypeAlias = Literal["auto", "single_request", "per_call"]


@dataclass(frozen=True, slots=True)
class ThreadOptions:
    """How threads are decoded and pruned.

    Attributes:
        max_depth: deepest task level (the reasoning task is 1; TIM's default is 3).
        prune: the pruning rule; None keeps every token (the unpruned tree).
        sampling: temperature, top-p, top-k and seed of the model's tokens; ``max_tokens``
            is the episode's budget of tokens after the prompt (model-written and
            runtime-written together). Stop strings are not used. With a seed, episode ``i``
            samples with ``seed + i``.
        max_context: the most tokens in working memory at once (prompt included); default:
            the model's context. An episode that needs more even after pruning ends with
            stop reason "context_overflow".
        max_corrections: malformed-tree problems shown to the model before its episode ends
            with stop reason "malformed".
        constrained: decode under the thread grammar (local models; needs llguidance). The
            grammar rules out malformed JSON, unknown tools, parameters outside their schema
            and nesting past ``max_depth``.
        compact_after: dead (pruned) cache columns that trigger a physical compaction of
            the batch's KV cache; None only masks (logical pruning).
        max_chunk: most runtime-written tokens fed to the model in one step.
        execution: tool timeouts, retries and output limits (``hone.tools``' defaults).
        runtime: which runtime runs the threads (see :data:`Runtime`).

    Raises:
        ConfigError: a value out of range.
    """

    max_depth: int = DEFAULT_MAX_DEPTH
    prune: PruneRule | None = field(default_factory=PruneRule)
    sampling: SamplingOptions = field(default_factory=lambda: SamplingOptions(max_tokens=4096))
    max_context: int | None = None
    max_corrections: int = 3
    constrained: bool = True
    compact_after: int | None = 64
    max_chunk: int = 512
    execution: ExecutionOptions | None = None
    runtime: Runtime = "auto"

    def __post_init__(self) -> None:
        if self.max_corrections < 0:
            raise ConfigError(f"max_corrections must be >= 0, got {self.max_corrections}")
        if self.max_context is not None and self.max_context < 1:
            raise ConfigError(f"max_context must be >= 1, got {self.max_context}")
        if self.compact_after is not None and self.compact_after < 1:
            raise ConfigError(f"compact_after must be >= 1 (or None), got {self.compact_after}")
        if self.max_chunk < 1:
            raise ConfigError(f"max_chunk must be >= 1, got {self.max_chunk}")
        if self.sampling.max_tokens < 1:
            raise ConfigError(f"sampling.max_tokens must be >= 1, got {self.sampling.max_tokens}")
        if self.runtime not in ("auto", "single_request", "per_call"):
            raise ConfigError(f"unknown runtime {self.runtime!r}")


@dataclass(frozen=True, slots=True)
class ThreadStats:
    """What an episode cost."""

    #: Tokens the model wrote (sampled, or given by a teacher).
    model_tokens: int = 0
    #: Tokens the runtime wrote (tool results, problem notices).
    forced_tokens: int = 0
    #: Tokens the model encoded: the prompt and every token fed after it (single request),
    #: or every call's prompt and completion (per call: what re-sending costs).
    processed_tokens: int = 0
    #: Tokens in working memory when the episode ended (prompt included), and the most at
    #: any time.
    kv_entries: int = 0
    peak_kv_entries: int = 0
    #: Model calls (1 for the single-request runtime).
    calls: int = 0


@dataclass(frozen=True, slots=True)
class ThreadResult:
    """One finished episode."""

    #: The thread, when it was completed.
    thread: Thread | None
    #: The whole thread text (nothing pruned, tool results included).
    text: str
    stop: ThreadStop
    #: Why it stopped, in words.
    detail: str
    #: The problems shown to the model, in order.
    errors: tuple[ThreadError, ...]
    tool_calls: int
    stats: ThreadStats
    #: Single request: every token with its kind, logprob, position and visibility.
    trace: ThreadTrace | None = None
    #: Per call: each call's completion (each is its own training sample).
    completions: tuple[Completion, ...] = ()

    @property
    def answer(self) -> str | None:
        """The thread's answer (None if it was not completed)."""
        return self.thread.answer if self.thread is not None else None
