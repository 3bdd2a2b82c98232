"""One structured step: a model call whose reply must be a value of a schema, shared by
``create_react_agent``'s ``response_format`` and the patterns of ``hone.agents`` (plans,
verdicts, scores, picks).

The request carries the schema as OpenAI's ``response_format`` (backends that can constrain
their decoding do; every backend checks the reply against it), and the reply is read by the
same code as ``with_structured_output``. A reply that does not fit (not JSON, a schema
mismatch, or a problem the caller's ``check`` finds, such as an index out of range) is an
error *value*: the reply and the problems, phrased for the model, join the conversation and
the model tries again while attempts remain. Every attempt is a model call of its own, so a
rollout records each of them (with its parse errors) in the trajectory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hone.agent._step import Complete, with_system
from hone.errors import ConfigError, StructuredOutputError
from hone.messages import AnyMessage, UserMessage
from hone.models._chat_output import OutputSchema, StructuredModel, output_schema
from hone.models._protocol import ChatRequest, Completion, ModelBackend, SamplingOptions

__all__ = ["Check", "StructuredAttempt", "StructuredStep", "StructuredTurn"]

#: A check of a value that fits the schema: None when it is acceptable, else the problem in
#: words the model can act on ("index 7 is out of range: pick 0 to 2").
Check = Callable[[Any], str | None]


@dataclass(frozen=True, slots=True)
class StructuredAttempt:
    """One try: the model's completion and what was wrong with it (empty when it fit).

    Attributes:
        completion: the completion, as the backend returned it.
        problems: the problems shown to the model, in order; empty for the accepted reply.
    """

    completion: Completion
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StructuredTurn:
    """What a structured step produced.

    Attributes:
        value: the reply read into the schema's type (a pydantic instance, a dict, ...); None
            when no attempt fit.
        attempts: every try, in order; only the last one may have fit.
        messages: the conversation the step added: for each failed try its reply and the
            problems as a user message, then the last reply.
    """

    value: Any
    attempts: tuple[StructuredAttempt, ...]
    messages: tuple[AnyMessage, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether a reply fit."""
        return bool(self.attempts) and not self.attempts[-1].problems

    @property
    def problems(self) -> tuple[str, ...]:
        """The last try's problems (empty when it fit)."""
        return self.attempts[-1].problems if self.attempts else ()


async def _complete(model: ModelBackend, request: ChatRequest) -> Completion:
    return await model.complete(request)


def _feedback(problems: Sequence[str]) -> UserMessage:
    return UserMessage(content="\n".join(problems))


@dataclass(frozen=True, slots=True)
class StructuredStep:
    """Ask for a value of ``schema`` and retry with the problems shown until one fits.

    Attributes:
        schema: a pydantic model class, a TypedDict class, or a JSON-schema dict (or an
            OpenAI function dict), as ``with_structured_output`` takes.
        system: a system prompt, put first unless the conversation starts with one.
        sampling: sampling options for every call.
        max_attempts: model calls at most (the first and its retries).
        check: a further check of a value that fits the schema.

    Raises:
        ConfigError: ``max_attempts`` below 1, or a schema ``with_structured_output`` rejects.
    """

    schema: Any
    system: str | None = None
    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    max_attempts: int = 3
    check: Check | None = None
    _read: OutputSchema = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError(
                f"StructuredStep.max_attempts must be at least 1, got {self.max_attempts}"
            )
        object.__setattr__(self, "_read", output_schema(self.schema))

    @property
    def name(self) -> str:
        """The schema's name (as the request's ``response_format`` carries it)."""
        return self._read.name

    def request(self, messages: Sequence[AnyMessage]) -> ChatRequest:
        """The request for ``messages`` before the schema is bound to it (no tools)."""
        return ChatRequest(
            messages=tuple(with_system(self.system, messages)), options=self.sampling
        )

    def _read_reply(
        self, reader: StructuredModel, completion: Completion
    ) -> tuple[Any, tuple[str, ...]]:
        """``(value, ())`` when the completion fits, else ``(None, problems)``."""
        try:
            value = reader.parse(completion.message)
        except StructuredOutputError as exc:
            problems = completion.parse_errors or (
                f"Your reply does not fit the schema {self.name!r}: {exc.problem}. "
                "Reply with only a JSON value that fits it.",
            )
            return None, tuple(problems)
        problem = None if self.check is None else self.check(value)
        if problem is not None:
            return None, (problem,)
        return value, ()

    async def arun(
        self,
        model: ModelBackend,
        messages: Sequence[AnyMessage],
        *,
        complete: Complete | None = None,
    ) -> StructuredTurn:
        """Ask ``model`` until a reply fits or the attempts run out.

        Args:
            model: the model to call.
            messages: the conversation so far (hone messages).
            complete: how to call the model (default ``model.complete``; graph nodes pass
                ``hone.graph.astream_model`` so the tokens stream).
        """
        # The schema binds as with_structured_output does (``response_format``), and the
        # reply is read by the same code.
        reader = StructuredModel.build(model, self.schema)
        conversation = list(messages)
        added: list[AnyMessage] = []
        attempts: list[StructuredAttempt] = []
        for _ in range(self.max_attempts):
            request = self.request(conversation)
            completion = await (complete or _complete)(reader.model, request)
            value, problems = self._read_reply(reader, completion)
            attempts.append(StructuredAttempt(completion, problems))
            added.append(completion.message)
            if not problems:
                return StructuredTurn(value, tuple(attempts), tuple(added))
            if len(attempts) < self.max_attempts:
                feedback = _feedback(problems)
                added.append(feedback)
                conversation += [completion.message, feedback]
        return StructuredTurn(None, tuple(attempts), tuple(added))
