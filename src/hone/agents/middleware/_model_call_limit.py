"""``ModelCallLimitMiddleware``: stop an agent once it has called its model a given number
of times in a thread (across invocations, with a checkpointer) or in one run (LangChain's
``ModelCallLimitMiddleware``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal, NotRequired

from hone.agents.middleware._base import AgentMiddleware, hook_config
from hone.agents.middleware._types import AgentState, PrivateStateAttr, ResponseT
from hone.graph import UntrackedValue
from hone.interop import is_langchain_message, to_langchain
from hone.messages import AssistantMessage

__all__ = ["ModelCallLimitExceededError", "ModelCallLimitMiddleware", "ModelCallLimitState"]

_EXIT_BEHAVIORS = ("end", "error")


class ModelCallLimitState(AgentState[ResponseT]):
    """The agent's state with the middleware's counters: model calls in the thread
    (checkpointed) and in the current run (never checkpointed, so each run starts at 0)."""

    thread_model_call_count: NotRequired[Annotated[int, PrivateStateAttr]]
    run_model_call_count: NotRequired[Annotated[int, UntrackedValue, PrivateStateAttr]]


def _limits_text(
    thread_count: int, run_count: int, thread_limit: int | None, run_limit: int | None
) -> str:
    """Which limits the counts have reached, e.g.
    ``"Model call limits exceeded: thread limit (2/2), run limit (1/1)"``."""
    reached = []
    if thread_limit is not None and thread_count >= thread_limit:
        reached.append(f"thread limit ({thread_count}/{thread_limit})")
    if run_limit is not None and run_count >= run_limit:
        reached.append(f"run limit ({run_count}/{run_limit})")
    return f"Model call limits exceeded: {', '.join(reached)}"


class ModelCallLimitExceededError(Exception):
    """The agent reached a model call limit of a :class:`ModelCallLimitMiddleware` whose
    ``exit_behavior`` is ``"error"``. Carries the counts and the limits."""

    def __init__(
        self, thread_count: int, run_count: int, thread_limit: int | None, run_limit: int | None
    ) -> None:
        self.thread_count = thread_count
        self.run_count = run_count
        self.thread_limit = thread_limit
        self.run_limit = run_limit
        super().__init__(_limits_text(thread_count, run_count, thread_limit, run_limit))

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (self.thread_count, self.run_count, self.thread_limit, self.run_limit),
        )


def _in_family(messages: Sequence[Any], message: AssistantMessage) -> Any:
    """``message`` as LangChain's when the conversation is in LangChain's messages."""
    return to_langchain(message) if any(is_langchain_message(m) for m in messages) else message


class ModelCallLimitMiddleware(AgentMiddleware[ModelCallLimitState[Any], Any, Any]):
    """Limit how many times an agent calls its model.

    Before each model call it checks the counts against the limits: once a limit is
    reached, ``exit_behavior="end"`` ends the run with an assistant message saying which
    limit (``"Model call limits exceeded: run limit (5/5)"``), ``"error"`` raises
    :class:`ModelCallLimitExceededError`. After each model call it counts the call.

    Args:
        thread_limit: model calls allowed in a thread (across invocations; counted only
            with a checkpointer); None: no limit.
        run_limit: model calls allowed in one invocation; None: no limit.
        exit_behavior: ``"end"`` or ``"error"``.

    Raises:
        ValueError: neither limit, or another ``exit_behavior``.
    """

    state_schema = ModelCallLimitState

    def __init__(
        self,
        *,
        thread_limit: int | None = None,
        run_limit: int | None = None,
        exit_behavior: Literal["end", "error"] = "end",
    ) -> None:
        if thread_limit is None and run_limit is None:
            raise ValueError("At least one limit must be specified (thread_limit or run_limit)")
        if exit_behavior not in _EXIT_BEHAVIORS:
            raise ValueError(f"Invalid exit_behavior: {exit_behavior}. Must be 'end' or 'error'")
        self.thread_limit = thread_limit
        self.run_limit = run_limit
        self.exit_behavior = exit_behavior

    def _reached(self, thread_count: int, run_count: int) -> bool:
        return (self.thread_limit is not None and thread_count >= self.thread_limit) or (
            self.run_limit is not None and run_count >= self.run_limit
        )

    @hook_config(can_jump_to=["end"])
    def before_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Stop the run (or raise) when a limit is reached; else let the call happen.

        Raises:
            ModelCallLimitExceededError: a limit is reached and ``exit_behavior="error"``.
        """
        thread_count = state.get("thread_model_call_count", 0)
        run_count = state.get("run_model_call_count", 0)
        if not self._reached(thread_count, run_count):
            return None
        if self.exit_behavior == "error":
            raise ModelCallLimitExceededError(
                thread_count=thread_count,
                run_count=run_count,
                thread_limit=self.thread_limit,
                run_limit=self.run_limit,
            )
        text = _limits_text(thread_count, run_count, self.thread_limit, self.run_limit)
        notice = _in_family(state.get("messages") or [], AssistantMessage(content=text))
        return {"jump_to": "end", "messages": [notice]}

    @hook_config(can_jump_to=["end"])
    async def abefore_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Async :meth:`before_model`.

        Raises:
            ModelCallLimitExceededError: a limit is reached and ``exit_behavior="error"``.
        """
        return self.before_model(state, runtime)

    def after_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Count the call just made, in the thread and in the run."""
        return {
            "thread_model_call_count": state.get("thread_model_call_count", 0) + 1,
            "run_model_call_count": state.get("run_model_call_count", 0) + 1,
        }

    async def aafter_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Async :meth:`after_model`."""
        return self.after_model(state, runtime)
