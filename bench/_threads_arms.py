"""The two agents ``bench threads_training`` trains: a task tree with pruning and a flat ReAct
agent, each with its teacher, its sampler and its scorer, over ``hone.threads.LookupSuite``.

Both arms expose the same four operations, so the training loop treats them alike:
``teacher`` (the scripted teacher's episodes, teacher-forced through the model: the SFT data), ``sample`` (the policy's own episodes), ``outcome`` (right answer, and how many of
the intended tool calls it made in order before the first wrong one) and ``context`` (the
context each model-written token was conditioned on, and the KV entries at the end).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from hone.messages import AssistantMessage
from hone.models import SamplingOptions, TransformersModel
from hone.threads import (
    FlatResult,
    LookupSuite,
    LookupTask,
    PruneRule,
    TeacherForcedModel,
    ThreadOptions,
    ThreadResult,
    ThreadSchema,
    ToolCallReady,
    parse_thread,
    run_flat,
    run_threads,
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one episode went."""

    success: bool
    #: Intended tool calls made, in order, before the first call that differs.
    calls_right: int
    calls_intended: int
    #: Tool calls made at all, and how many of them (in order) name the intended tool.
    calls_made: int
    names_right: int
    stop: str
    #: Mean tokens the model conditioned on per model-written token.
    context_per_token: float
    #: Tokens in working memory at the end (prompt included).
    kv_end: int
    model_tokens: int

    @property
    def reward(self) -> float:
        """1 for the right total, plus up to 0.5 for the intended calls made in order, plus up
        to 0.1 for calling the intended tools in order (whatever the arguments)."""
        intended = self.calls_intended
        return float(self.success) + (0.5 * self.calls_right + 0.1 * self.names_right) / intended


def _prefix(made: Sequence[tuple[str, dict[str, Any]]], task: LookupTask, *, names: bool) -> int:
    """Intended calls made in order before the first that differs (by name only, or by name
    and arguments)."""
    right = 0
    for (name, arguments), call in zip(made, task.flat_calls(), strict=False):
        if name != call.name or (not names and arguments != call.arguments):
            break
        right += 1
    return right


def _counts(made: Sequence[tuple[str, dict[str, Any]]], task: LookupTask) -> dict[str, int]:
    return {
        "calls_right": _prefix(made, task, names=False),
        "calls_intended": task.tool_calls,
        "calls_made": len(made),
        "names_right": _prefix(made, task, names=True),
    }


class TreeArm:
    """Threads on the single-request runtime, pruned with ``PruneRule(stack)``."""

    name = "tree"

    def __init__(self, suite: LookupSuite, *, stack: int, max_tokens: int) -> None:
        self.stack, self.max_tokens = stack, max_tokens
        self.schema = ThreadSchema.for_tools(suite.tools())

    def _options(self, sampling: SamplingOptions) -> ThreadOptions:
        return ThreadOptions(prune=PruneRule(self.stack), sampling=sampling)

    def teacher(self, model: TransformersModel, suite: LookupSuite) -> list[ThreadResult]:
        """The teacher's threads, teacher-forced through ``model`` (each trace is one SFT
        sample, with its pruning visibility)."""
        options = self._options(SamplingOptions(max_tokens=1 << 15))
        results = run_threads(
            model, suite.questions, suite.tools(), options=options, teacher=suite.tree_teacher()
        )
        if not all(suite.check([r.answer for r in results])):
            raise RuntimeError("the tree teacher did not finish a task")
        return results

    def sample(
        self,
        model: TransformersModel,
        suite: LookupSuite,
        tasks: Sequence[int],
        sampling: SamplingOptions,
    ) -> list[ThreadResult]:
        """The policy's threads for ``tasks`` (indexes into the suite), one batch."""
        questions = [suite.tasks[i].question for i in tasks]
        return run_threads(
            model, questions, suite.tools(),
            options=self._options(sampling.with_(max_tokens=self.max_tokens)),
        )  # fmt: skip

    def outcome(self, task: LookupTask, result: Any) -> Outcome:
        """Score a thread."""
        events = parse_thread(result.text, self.schema).events
        made = [(e.tool_name, dict(e.parameters)) for e in events if isinstance(e, ToolCallReady)]
        return Outcome(
            success=task.check(result.answer),
            **_counts(made, task),
            stop=result.stop,
            context_per_token=_trace_context(result),
            kv_end=result.stats.kv_entries,
            model_tokens=result.stats.model_tokens,
        )


def _trace_context(result: ThreadResult) -> float:
    """Mean visible tokens before each model-written token (what predicting it could see)."""
    trace = result.trace
    if trace is None or len(trace) < 2:
        return 0.0
    n = len(trace)
    index = torch.arange(n)
    hidden = torch.tensor([n + 1 if h is None else h for h in trace.hidden_from])  # (T,)
    sees = (index[:, None] >= index[None, :]) & (index[:, None] < hidden[None, :])  # (Tq, Tk)
    seen = sees.sum(-1)  # (T,) tokens each query sees, itself included
    model = torch.tensor([k == "model" for k in trace.kinds])
    model[0] = False
    before = seen[:-1][model[1:]]  # the query that predicts each model token
    return float(before.double().mean()) if before.numel() else 0.0


class FlatArm:
    """A flat ReAct agent (``hone.threads.run_flat``): one tool call per turn, no pruning."""

    name = "flat"

    def __init__(self, suite: LookupSuite, *, max_call_tokens: int, extra_steps: int) -> None:
        self.max_call_tokens, self.extra_steps = max_call_tokens, extra_steps

    def _steps(self, suite: LookupSuite, tasks: Sequence[int]) -> int:
        return max(suite.tasks[i].tool_calls for i in tasks) + self.extra_steps

    def teacher(self, model: TransformersModel, suite: LookupSuite) -> list[FlatResult]:
        """The teacher's conversations, teacher-forced through ``model`` (each is one SFT
        sample: the history is append-only)."""
        forced = TeacherForcedModel(model, suite.flat_teacher())
        steps = self._steps(suite, range(len(suite.tasks)))
        results = run_flat(forced, suite.questions, suite.tools(), max_steps=steps)
        if not all(suite.check([r.answer for r in results])):
            raise RuntimeError("the flat teacher did not finish a task")
        return results

    def sample(
        self,
        model: TransformersModel,
        suite: LookupSuite,
        tasks: Sequence[int],
        sampling: SamplingOptions,
    ) -> list[FlatResult]:
        """The policy's conversations for ``tasks`` (calls of one step batched)."""
        questions = [suite.tasks[i].question for i in tasks]
        return run_flat(
            model, questions, suite.tools(), max_steps=self._steps(suite, tasks),
            sampling=sampling.with_(max_tokens=self.max_call_tokens),
        )  # fmt: skip

    def outcome(self, task: LookupTask, result: Any) -> Outcome:
        """Score a conversation."""
        made = [
            (call.name, dict(call.arguments))
            for m in result.messages
            if isinstance(m, AssistantMessage)
            for call in m.tool_calls
        ]
        return Outcome(
            success=task.check(result.answer),
            **_counts(made, task),
            stop="answer",  # a flat run always ends with an answer turn
            context_per_token=_flat_context(result),
            kv_end=result.stats.kv_entries,
            model_tokens=result.stats.model_tokens,
        )


def _flat_context(result: FlatResult) -> float:
    """Mean tokens before each model-written token: its call's prompt and the reply so far."""
    total = count = 0
    for completion in result.completions:
        n, prompt = completion.usage.completion_tokens, completion.usage.prompt_tokens
        total += n * prompt + n * (n - 1) // 2
        count += n
    return total / count if count else 0.0


def digit_nll(trainer: Any, tokenizer: Any, samples: Sequence[Any]) -> dict[str, float]:
    """Mean NLL per learned token of teacher episodes, split into digits (the values and sums
    an episode copies from its tool results, and digit keys when the task has them; a uniform
    guess scores 2.30, and a digit key's leading 0 is predictable without copying) and every
    other token (the format, and word keys). A loss that falls on "other" only, with digit
    keys, means the format is learned and copying not."""
    sums = {"digits": 0.0, "other": 0.0}
    counts = {"digits": 0, "other": 0}
    for sample, logprobs in zip(samples, trainer.compute_logprobs(samples), strict=True):
        tokens = tokenizer.convert_ids_to_tokens(list(sample.input_ids))
        for token, learned, logprob in zip(tokens, sample.loss_mask, logprobs, strict=True):
            if learned:
                kind = "digits" if token.isdigit() else "other"
                sums[kind] -= logprob
                counts[kind] += 1
    return {k: round(sums[k] / counts[k], 4) if counts[k] else 0.0 for k in sums}
