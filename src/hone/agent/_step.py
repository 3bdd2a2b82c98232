"""One agent step, shared by hone's agent loops (``run_agent`` and the graph's
``create_react_agent``), so an agent trained in one is served with the same prompts in the
other.

A step builds the request (system prompt, tool schemas, sampling options), calls the model,
and turns the completion into the messages the turn adds to the conversation: the model's
reply and, when the reply's tool calls could not be parsed, the parser's errors (already
phrased for the model) as one user message. When the step budget is spent, the final-answer
step (:class:`FinalAnswer`) appends the policy's prompt, withholds the tools and drops any tool
call from the reply, so the run ends with an answer. A turn that ends the agent reports why
(:func:`~hone.agent._scope.report_stop`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from hone.agent._scope import StopReason, report_stop
from hone.errors import ConfigError
from hone.messages import AnyMessage, AssistantMessage, SystemMessage, UserMessage
from hone.models._protocol import ChatRequest, Completion, ModelBackend, SamplingOptions

__all__ = [
    "FINAL_ANSWER_PROMPT",
    "AgentStep",
    "AgentTurn",
    "Complete",
    "FinalAnswer",
    "with_system",
]

#: The default final-answer prompt.
FINAL_ANSWER_PROMPT = (
    "You have used all your steps. Do not call any more tools: give your final answer now, "
    "based on what you have found so far."
)

#: How a step calls the model: ``model.complete`` by default; a graph node passes
#: ``hone.graph.astream_model`` so the tokens stream in ``stream_mode="messages"``.
Complete: TypeAlias = Callable[[ModelBackend, ChatRequest], Awaitable[Completion]]


@dataclass(frozen=True, slots=True)
class FinalAnswer:
    """What an agent does when its step budget is spent: one more model call, with ``prompt``
    appended as a user message and the tools withheld; tool calls in that reply are dropped,
    so the run ends with an assistant message that calls no tool.

    Attributes:
        prompt: the user message that asks for the answer.

    Raises:
        ConfigError: an empty prompt.
    """

    prompt: str = FINAL_ANSWER_PROMPT

    def __post_init__(self) -> None:
        if not self.prompt.strip():
            raise ConfigError("FinalAnswer.prompt is empty; give the words that ask for the answer")


def with_system(system: str | None, messages: Sequence[AnyMessage]) -> list[AnyMessage]:
    """``messages`` with ``system`` as a system message first, unless they already start with
    a system message (or ``system`` is None)."""
    if system is None or (messages and isinstance(messages[0], SystemMessage)):
        return list(messages)
    return [SystemMessage(content=system), *messages]


@dataclass(frozen=True, slots=True)
class AgentTurn:
    """What one step added to the conversation, and whether it ended the agent.

    Attributes:
        messages: the new messages, in order: the model's reply, then the parse errors as a
            user message when its tool calls could not be parsed; for the final-answer step,
            the final-answer prompt, then the reply (its tool calls dropped).
        completion: the model's completion, as returned.
        stop: why the agent stops after this turn, or None when it goes on (tool calls to
            run, or parse errors to fix).
    """

    messages: tuple[AnyMessage, ...]
    completion: Completion
    stop: StopReason | None = None

    @property
    def reply(self) -> AssistantMessage:
        """The model's reply as it enters the conversation."""
        return next(m for m in self.messages if isinstance(m, AssistantMessage))


async def _complete(model: ModelBackend, request: ChatRequest) -> Completion:
    return await model.complete(request)


@dataclass(frozen=True, slots=True)
class AgentStep:
    """One step of a tool-using agent: request, model call, the turn's messages.

    Attributes:
        tools: the tool schemas offered (OpenAI function format; ``ToolRegistry.specs()``).
        sampling: sampling options for every call.
        system: a system prompt, put first unless the conversation starts with one.
        final_answer: what the final-answer step sends (None: the agent has none).
    """

    tools: tuple[Mapping[str, Any], ...] = ()
    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    system: str | None = None
    final_answer: FinalAnswer | None = field(default_factory=FinalAnswer)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tools", tuple(self.tools))

    def request(self, messages: Sequence[AnyMessage], *, final: bool = False) -> ChatRequest:
        """The request for the conversation ``messages``: with the tools, or, for the
        final-answer step, with the final-answer prompt appended and no tools.

        Raises:
            ConfigError: ``final`` without a ``final_answer`` policy.
        """
        conversation = with_system(self.system, messages)
        if not final:
            return ChatRequest(
                messages=tuple(conversation), tools=self.tools, options=self.sampling
            )
        prompt = UserMessage(content=self._final_answer().prompt)
        return ChatRequest(messages=(*conversation, prompt), tools=(), options=self.sampling)

    def turn(self, completion: Completion, *, final: bool = False) -> AgentTurn:
        """The turn ``completion`` makes (see :class:`AgentTurn`)."""
        reply = completion.message
        if final:
            prompt = UserMessage(content=self._final_answer().prompt)
            answer = reply.model_copy(update={"tool_calls": ()}) if reply.tool_calls else reply
            return AgentTurn((prompt, answer), completion, "step_budget")
        if reply.tool_calls:
            return AgentTurn((reply,), completion)
        if completion.parse_errors:
            feedback = UserMessage(content="\n".join(completion.parse_errors))
            return AgentTurn((reply, feedback), completion)
        stop: StopReason = "truncated" if completion.finish_reason == "length" else "answered"
        return AgentTurn((reply,), completion, stop)

    async def arun(
        self,
        model: ModelBackend,
        messages: Sequence[AnyMessage],
        *,
        final: bool = False,
        complete: Complete | None = None,
    ) -> AgentTurn:
        """Run one step on the conversation ``messages``; a turn that ends the agent reports
        why (rollouts record it as ``Episode.stop_reason``).

        Args:
            model: the model to call.
            messages: the conversation so far (hone messages).
            final: make this the final-answer step.
            complete: how to call the model (default ``model.complete``).
        """
        request = self.request(messages, final=final)
        completion = await (complete or _complete)(model, request)
        turn = self.turn(completion, final=final)
        if turn.stop is not None:
            report_stop(turn.stop, model)
        return turn

    def _final_answer(self) -> FinalAnswer:
        if self.final_answer is None:
            raise ConfigError(
                "a final-answer step needs a FinalAnswer policy; build the AgentStep with "
                "final_answer=FinalAnswer()"
            )
        return self.final_answer
