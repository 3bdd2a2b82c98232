"""One RLM: the root model writes a code block, the block runs in the sandbox session that
holds the context, the model reads what it printed; until the code sets
``answer["ready"] = True`` or a budget ends the run.

A level is the RLM at one recursion depth; ``rlm_query`` starts the next level inside a host
function, on the same :class:`~hone.rlm._subcalls.Shared` budget.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hone.agent._scope import StopReason, report_stop
from hone.errors import ContextOverflowError
from hone.graph import astream_model, get_stream_writer
from hone.messages import AnyMessage, AssistantMessage, SystemMessage, UserMessage
from hone.models._protocol import ChatRequest, Completion
from hone.rlm._config import RLMConfig
from hone.rlm._prompt import CODE_STOP, RLM_PROMPT, Block, cut_output, find_block, task_message
from hone.rlm._result import Refusal, RLMResult, RLMStep, RLMStopReason, StepStatus
from hone.rlm._roles import ROOT_ROLE, role_at
from hone.rlm._subcalls import Shared, SubCallFailed, sub_call_functions
from hone.sandbox import SandboxSession, SandboxValueError
from hone.trajectory import current_recorder, current_rollout, to_jsonable

__all__ = ["OBSERVATION", "run_level"]

#: The name of the user messages that carry what a block printed.
OBSERVATION = "sandbox"
_INITIAL_ANSWER: dict[str, Any] = {"content": None, "ready": False}
# How an RLM stop reads to whoever watches agent loops (rollouts record it on the episode).
_AGENT_STOPS: dict[RLMStopReason, StopReason] = {
    "answered": "answered",
    "iterations": "step_budget",
    "sub_calls": "step_budget",
    "tokens": "step_budget",
    "time": "step_budget",
    "context_overflow": "context_overflow",
}
_NO_CODE = (
    "[no code block found: reply with one ```python block; the run ends only when the code "
    'sets answer["ready"] = True]'
)
_CUT_OFF = (
    "[your reply was cut off at the token limit before its code block closed; nothing ran. "
    "Write shorter blocks]"
)
_RESTARTED = "[`context` and `answer` were set again in the fresh session]"


@dataclass(frozen=True, slots=True)
class _Answer:
    content: Any = None
    ready: bool = False
    problem: str | None = None


async def run_level(shared: Shared, depth: int, context: Any, question: str) -> RLMResult:
    """Run the RLM at ``depth`` on ``context`` until it answers or a budget stops it."""
    return await _Level(shared, depth).run(context, question)


class _Level:
    def __init__(self, shared: Shared, depth: int) -> None:
        self.shared = shared
        self.depth = depth
        self.role = role_at(ROOT_ROLE, depth)
        self.model = shared.models[self.role]
        config = shared.config
        self.functions = sub_call_functions(shared, depth, self._spawn)
        listed = [f for f in self.functions if f.name != "rlm_query" or depth < config.max_depth]
        listing = "\n\n".join(f.describe() for f in listed)
        self.system = (
            (config.prompt or RLM_PROMPT)
            .replace("{functions}", listing)
            .replace("{limits}", _limits(config))
        )
        stops = config.options.stop
        self.options = config.options.with_(
            stop=stops if CODE_STOP in stops else (*stops, CODE_STOP)
        )

    async def run(self, context: Any, question: str) -> RLMResult:
        session = await self.shared.sandbox.astart(self.functions)
        try:
            await _prime(session, context)
            result = await self._loop(session, context, question)
        finally:
            await session.aclose()
        report_stop(_AGENT_STOPS[result.stop_reason], self.model)
        if self.depth == 0:
            _record_outcome(result)
        return result

    async def _loop(self, session: SandboxSession, context: Any, question: str) -> RLMResult:
        spend, budget = self.shared.spend, self.shared.config.budget
        messages: list[AnyMessage] = [
            SystemMessage(content=self.system),
            UserMessage(content=task_message(question, context)),
        ]
        steps: list[RLMStep] = []
        answer = _Answer()
        stop: RLMStopReason = "iterations"
        final: RLMStopReason | None = None  # why the turn now running was announced as the last
        for iteration in range(1, budget.max_iterations + 1):
            exhausted = spend.exhausted()
            if exhausted is not None:
                stop = exhausted
                break
            reply = await self._turn(messages)
            if not isinstance(reply, Completion):
                stop = reply
                break
            if self.depth == 0:
                spend.iterations += 1
            block = find_block(reply.message.text, stopped=reply.finish_reason == "stop")
            messages.append(  # the reply's id: a graph does not stream it twice
                AssistantMessage(
                    content=block.shown, reasoning=reply.message.reasoning, id=reply.message.id
                )
            )
            refused_before = len(spend.refusals)
            step, read = await self._step(session, context, block, iteration, reply)
            answer = answer if read is None else read  # a turn that ran nothing keeps it
            # Refusals of this level's code (a sub-RLM running meanwhile tells its own model).
            refused = [r for r in spend.refusals[refused_before:] if r.depth == self.depth]
            if final is None and not answer.ready and any(r.reason == "sub_calls" for r in refused):
                final = "sub_calls"
                last = "no sub-calls are left"
            elif final is None and budget.max_iterations - iteration == 1:
                last = "one turn is left"
            else:
                last = ""
            step = _with_notes(step, refused, last)
            messages.append(UserMessage(content=step.observation, name=OBSERVATION))
            steps.append(step)
            get_stream_writer()({"rlm": _event(self.depth, step)})
            if answer.ready:
                stop = "answered"
                break
            if final is not None and not last:  # the announced last turn is over
                stop = final
                break
        return RLMResult(
            answer=answer.content,
            ready=answer.ready,
            stop_reason=stop,
            messages=tuple(messages),
            steps=tuple(steps),
            usage=spend.usage(),
        )

    async def _turn(self, messages: list[AnyMessage]) -> Completion | RLMStopReason:
        """The root model's next reply, or why none can be had."""
        request = ChatRequest(messages=tuple(messages), options=self.options)
        remaining = self.shared.spend.remaining_seconds()
        try:
            async with asyncio.timeout(None if remaining is None else max(remaining, 0)):
                if self.depth == 0:  # streamed token by token when a graph run streams messages
                    completion = await astream_model(self.model, request)
                else:
                    completion = await self.model.complete(request)
        except TimeoutError:
            if self.shared.spend.exhausted() != "time":
                raise
            return "time"
        except ContextOverflowError:
            return "context_overflow"
        self.shared.spend.charge(self.role, completion.usage)
        return completion

    async def _step(
        self,
        session: SandboxSession,
        context: Any,
        block: Block,
        iteration: int,
        reply: Completion,
    ) -> tuple[RLMStep, _Answer | None]:
        """Run the turn's block (when it has a complete one) and read ``answer`` back (None:
        nothing ran)."""
        if block.code is None or not block.closed:
            cut = block.code is not None or reply.finish_reason == "length"
            status: StepStatus = "cut_off" if cut else "no_code"
            return RLMStep(iteration, None, status, _CUT_OFF if cut else _NO_CODE), None
        spend = self.shared.spend
        calls_before, started = spend.sub_calls, time.perf_counter()
        result = await session.arun(block.code, timeout=self._block_timeout())
        observation = cut_output(result, self.shared.config.output_chars)
        if result.ended:  # the worker is gone: a fresh one, with the context set again
            await session.arestart()
            await _prime(session, context)
            observation = f"{observation}\n{_RESTARTED}"
            answer = _Answer()
        else:
            answer = await _read_answer(session)
            if answer.problem is not None:
                observation = f"{observation}\n{answer.problem}"
        step = RLMStep(
            iteration=iteration,
            code=block.code,
            status=result.status,
            observation=observation,
            output_chars=result.output_chars,
            sub_calls=spend.sub_calls - calls_before,
            seconds=round(time.perf_counter() - started, 6),
        )
        return step, answer

    def _block_timeout(self) -> float | None:
        limit = self.shared.config.block_timeout
        remaining = self.shared.spend.remaining_seconds()
        if remaining is None:
            return limit
        remaining = max(remaining, 0.01)
        return remaining if limit is None else min(limit, remaining)

    async def _spawn(self, prompt: str, context: Any) -> Any:
        spend = self.shared.spend
        spend.sub_rlms += 1
        spend.max_depth_reached = max(spend.max_depth_reached, self.depth + 1)
        result = await _Level(self.shared, self.depth + 1).run(context, prompt)
        if not result.ready:
            raise SubCallFailed(
                f"the sub-RLM stopped without an answer ({result.stop_reason}, after "
                f"{len(result.steps)} turns)"
            )
        return result.answer


def _record_outcome(result: RLMResult) -> None:
    """Inside a rollout: the run's own stop reason and usage on its episodes, and an
    overflowed root prompt as the episodes' status, as if the program had raised it."""
    rollout, recorder = current_rollout(), current_recorder()
    if rollout is not None:
        rollout.metadata["rlm"] = {
            "stop_reason": result.stop_reason,
            "ready": result.ready,
            "usage": to_jsonable(result.usage),
        }
    if recorder is not None and result.stop_reason == "context_overflow":
        recorder.set_status("context_overflow")


def _with_notes(step: RLMStep, refused: Sequence[Refusal], last: str) -> RLMStep:
    """``step`` with what the model is told besides the output: refused sub-calls (the code
    may have caught the error) and, when ``last`` says why, that its next turn is its last."""
    notes = [step.observation]
    if refused:
        count = f"{len(refused)} sub-calls were" if len(refused) > 1 else "a sub-call was"
        notes.append(f"[{count} refused: {refused[-1].message}]")
    if last:
        notes.append(
            f"[{last}: your next block is your last; set answer['content'] and "
            "answer['ready'] = True in it]"
        )
    return dataclasses.replace(step, observation="\n".join(notes))


def _limits(config: RLMConfig) -> str:
    budget = config.budget
    parts = [
        f"{budget.max_iterations} blocks",
        f"{budget.max_sub_calls:,} sub-calls in all",
        f"{budget.max_prompt_chars:,} characters per sub-call prompt",
        f"{config.output_chars:,} printed characters shown per block",
    ]
    if budget.max_tokens is not None:
        parts.append(f"{budget.max_tokens:,} tokens")
    if budget.max_seconds is not None:
        parts.append(f"{budget.max_seconds:g} seconds")
    return ", ".join(parts)


def _event(depth: int, step: RLMStep) -> dict[str, Any]:
    return {
        "depth": depth,
        "iteration": step.iteration,
        "status": step.status,
        "code": step.code,
        "observation": step.observation,
        "sub_calls": step.sub_calls,
    }


async def _prime(session: SandboxSession, context: Any) -> None:
    await session.aset("context", context)
    await session.aset("answer", dict(_INITIAL_ANSWER))


async def _read_answer(session: SandboxSession) -> _Answer:
    try:
        value = await session.aget("answer")
    except SandboxValueError as exc:
        return _Answer(problem=f"[`answer` must be a dict of JSON values: {exc}]")
    if not isinstance(value, dict):
        return _Answer(
            problem=f"[`answer` must be a dict like {{'content': ..., 'ready': True}}; it is "
            f"a {type(value).__name__}]"
        )
    return _Answer(value.get("content"), value.get("ready") is True)
