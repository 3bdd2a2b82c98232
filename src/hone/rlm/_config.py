"""How an RLM run is bounded and set up: its budgets, recursion depth, concurrency and
sampling, as one typed options object."""

from __future__ import annotations

from dataclasses import dataclass, field

from hone.errors import ConfigError
from hone.models._protocol import SamplingOptions

__all__ = ["RLMBudget", "RLMConfig"]


@dataclass(frozen=True, slots=True)
class RLMBudget:
    """What one RLM run (the root and every sub-RLM it starts, together) may spend.

    Each limit ends the run cleanly, with its name as the run's ``stop_reason``, or refuses
    a sub-call (the code gets an error saying which budget refused it; the model sees it).

    Attributes:
        max_iterations: root-model turns per RLM (each sub-RLM has as many of its own);
            past them the run stops with ``"iterations"``. The last turn is announced.
        max_sub_calls: ``llm_query`` prompts and ``rlm_query`` calls in the whole run. A
            call past it is refused; the model gets one more turn to answer, then the run
            stops with ``"sub_calls"``.
        max_prompt_chars: characters of one sub-call prompt; a longer one is refused (the
            run goes on: the model can split it).
        max_tokens: prompt plus completion tokens of every model call in the run (None: no
            limit). Checked before each call; once spent, sub-calls are refused and the run
            stops with ``"tokens"`` before its next turn.
        max_seconds: wall-clock seconds of the whole run (None: no limit). Root turns, code
            blocks and sub-calls are cut at the deadline; the run stops with ``"time"``.
    """

    max_iterations: int = 20
    max_sub_calls: int = 200
    max_prompt_chars: int = 200_000
    max_tokens: int | None = None
    max_seconds: float | None = 600.0

    def __post_init__(self) -> None:
        for name in ("max_iterations", "max_sub_calls", "max_prompt_chars"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"RLMBudget.{name} must be a positive int, got {value!r}")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise ConfigError(f"RLMBudget.max_tokens must be >= 1 or None, got {self.max_tokens}")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ConfigError(f"RLMBudget.max_seconds must be > 0 or None, got {self.max_seconds}")


@dataclass(frozen=True, slots=True)
class RLMConfig:
    """The settings of an RLM run.

    Attributes:
        budget: what the run may spend (:class:`RLMBudget`).
        max_depth: how deep ``rlm_query`` may nest: the root runs at depth 0, a sub-RLM it
            starts at depth 1, and at ``max_depth`` ``rlm_query`` is refused (0: never).
        concurrency: most sub-model calls running at once in the whole run (the cap of
            ``llm_query_batched``).
        output_chars: printed characters of a code block the model sees (the first and the
            last halves, with a note of how many were cut).
        block_timeout: wall-clock seconds one code block may run, sub-calls included (None:
            the sandbox's own limit).
        options: the root model's sampling; the stop sequence that ends a reply at the end
            of its code block is added to ``stop``.
        sub_options: the sampling of ``llm_query`` calls.
        prompt: the root model's system prompt; ``{functions}`` is replaced with the
            functions the code can call and ``{limits}`` with the budget (None:
            :data:`~hone.rlm.RLM_PROMPT`).
    """

    budget: RLMBudget = field(default_factory=RLMBudget)
    max_depth: int = 1
    concurrency: int = 8
    output_chars: int = 4_000
    block_timeout: float | None = 120.0
    options: SamplingOptions = field(default_factory=lambda: SamplingOptions(max_tokens=1024))
    sub_options: SamplingOptions = field(default_factory=lambda: SamplingOptions(max_tokens=1024))
    prompt: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.max_depth, int) or self.max_depth < 0:
            raise ConfigError(f"RLMConfig.max_depth must be an int >= 0, got {self.max_depth!r}")
        if not isinstance(self.concurrency, int) or self.concurrency < 1:
            raise ConfigError(f"RLMConfig.concurrency must be >= 1, got {self.concurrency!r}")
        if self.output_chars < 100:
            raise ConfigError(f"RLMConfig.output_chars must be >= 100, got {self.output_chars}")
        if self.block_timeout is not None and self.block_timeout <= 0:
            raise ConfigError(
                f"RLMConfig.block_timeout must be > 0 or None, got {self.block_timeout}"
            )
