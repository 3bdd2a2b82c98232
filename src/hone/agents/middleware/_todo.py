"""``TodoListMiddleware``: a ``write_todos`` tool the model plans with, the ``todos`` state
key it writes, and the system-prompt section that tells the model how to use it
(LangChain's planning middleware).

The tool is a hone tool that returns a :class:`~hone.graph.Command`: the new list goes to
the state's ``todos`` and its answer to the conversation, in the conversation's message
family.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NotRequired, TypeVar

import pydantic
from typing_extensions import TypedDict

from hone.agents.middleware._base import AgentMiddleware
from hone.agents.middleware._calls import tool_answer
from hone.agents.middleware._types import AgentState, ModelRequest, ModelResponse, OmitFromInput
from hone.graph._types import Command
from hone.interop._messages import is_langchain_message
from hone.messages import AssistantMessage, SystemMessage, TextPart
from hone.tools import Tool, ToolContext

__all__ = [
    "WRITE_TODOS_SYSTEM_PROMPT",
    "WRITE_TODOS_TOOL_DESCRIPTION",
    "PlanningState",
    "Todo",
    "TodoListMiddleware",
    "WriteTodosInput",
    "write_todos",
]

ResponseT = TypeVar("ResponseT")


class Todo(TypedDict):
    """One item of the plan: what to do and how far along it is."""

    content: str
    status: Literal["pending", "in_progress", "completed"]


class PlanningState(AgentState[ResponseT]):
    """The agent's state with the plan (``todos``, written by ``write_todos``)."""

    todos: NotRequired[Annotated[list[Todo], OmitFromInput]]


class WriteTodosInput(pydantic.BaseModel):
    """The arguments of ``write_todos``."""

    todos: list[Todo]


#: Validates a direct call's arguments; its errors read "... validation error for write_todos".
_WriteTodosArguments = pydantic.create_model("write_todos", todos=(list[Todo], ...))

WRITE_TODOS_TOOL_DESCRIPTION = """Use this tool to create and manage a structured task list for your current work session. This helps you track progress and organize complex tasks.

Only use this tool if you think it will be helpful in staying organized. If the user's request is trivial and takes less than 3 steps, it is better to NOT use this tool and just do the task directly.

## When to Use This Tool

Use this tool in these scenarios:

1. Complex multi-step tasks - When a task requires 3 or more distinct steps or actions
2. Non-trivial and complex tasks - Tasks that require careful planning or multiple operations
3. User explicitly requests todo list - When the user directly asks you to use the todo list
4. User provides multiple tasks - When users provide a list of things to be done (numbered or comma-separated)
5. The plan may need future revisions or updates based on results from the first few steps

## How to Use This Tool

1. When you start working on a task - Mark it as in_progress BEFORE beginning work.
2. After completing a task - Mark it as completed and add any new follow-up tasks discovered during implementation.
3. You can also update future tasks, such as deleting them if they are no longer necessary, or adding new tasks that are necessary. Don't change previously completed tasks.
4. You can make several updates to the todo list at once. For example, when you complete a task, you can mark the next task you need to start as in_progress.

## When NOT to Use This Tool

It is important to skip using this tool when:
1. There is only a single, straightforward task
2. The task is trivial and tracking it provides no benefit
3. The task can be completed in less than 3 trivial steps
4. The task is purely conversational or informational

## Task States and Management

1. **Task States**: Use these states to track progress:
    - pending: Task not yet started
    - in_progress: Currently working on (you can have multiple tasks in_progress at a time if they are not related to each other and can be run in parallel)
    - completed: Task finished successfully

2. **Task Management**:
    - Update task status in real-time as you work
    - Mark tasks complete IMMEDIATELY after finishing (don't batch completions)
    - Complete current tasks before starting new ones
    - Remove tasks that are no longer relevant from the list entirely
    - IMPORTANT: When you write this todo list, you should mark your first task (or tasks) as in_progress immediately!.
    - IMPORTANT: Unless all tasks are completed, you should always have at least one task in_progress.

3. **Task Completion Requirements**:
    - ONLY mark a task as completed when you have FULLY accomplished it
    - If you encounter errors, blockers, or cannot finish, keep the task as in_progress
    - When blocked, create a new task describing what needs to be resolved
    - Never mark a task as completed if:
        - There are unresolved issues or errors
        - Work is partial or incomplete
        - You encountered blockers that prevent completion
        - You couldn't find necessary resources or dependencies
        - Quality standards haven't been met

4. **Task Breakdown**:
    - Create specific, actionable items
    - Break complex tasks into smaller, manageable steps
    - Use clear, descriptive task names

Being proactive with task management ensures you complete all requirements successfully
Remember: If you only need to make a few tool calls to complete a task, and it is clear what you need to do, it is better to just do the task directly and NOT call this tool at all.

## When You Finish

`write_todos` tracks your work; it does not deliver the answer. Whatever the user asked for — computations, summaries, comparisons, data — must appear as text content in a message after your final `write_todos` call. Marking the last todo complete is not itself an answer to the user."""

WRITE_TODOS_SYSTEM_PROMPT = """## `write_todos`

You have access to the `write_todos` tool to help you manage and plan complex objectives.
Use this tool for complex objectives to ensure that you are tracking each necessary step.
This tool is very helpful for planning complex objectives, and for breaking down these larger complex objectives into smaller steps.

It is critical that you mark todos as completed as soon as you are done with a step. Do not batch up multiple steps before marking them as completed.
For simple objectives that only require a few steps, it is better to just complete the objective directly and NOT use this tool.
Writing todos takes time and tokens, use it when it is helpful for managing complex many-step problems! But not for simple few-step requests.

## Important To-Do List Usage Notes to Remember

- The `write_todos` tool should never be called multiple times in parallel.
- Don't be afraid to revise the To-Do list as you go. New information may reveal new tasks that need to be done, or old tasks that are irrelevant.

## Finishing a task

When you finish all work, write your final answer in the message AFTER your last `write_todos` call — not in the same turn as that call. Start the final message with the substantive content the user asked for — the data, computation, summary, or analysis. The user wants the result, not confirmation that the work is done."""

_PARALLEL_ERROR = (
    "Error: The `write_todos` tool should never be called multiple times in parallel. "
    "Please call it only once per model invocation to update the todo list."
)

#: A direct call's context metadata key: answer in LangChain's messages (no state to tell).
_LANGCHAIN_ANSWER = "todo.langchain_answer"


def _langchain_conversation(context: ToolContext) -> bool:
    """Whether the call's answer should be LangChain's: the conversation in the state is,
    or (called directly, without a state) the call was a LangChain tool-call dict."""
    state = context.state
    messages = state.get("messages") if isinstance(state, Mapping) else None
    if messages:
        return is_langchain_message(messages[-1])
    return bool(context.metadata.get(_LANGCHAIN_ANSWER))


def _tool_answer(content: str, call_id: str, langchain: bool, *, error: bool = False) -> Any:
    return tool_answer(content, call_id, None, langchain=langchain, error=error)


def _write_todos(todos: list[Todo], context: ToolContext) -> Command[Any]:
    """Create and manage a structured task list for your current work session."""
    answer = _tool_answer(
        f"Updated todo list to {todos}", context.call_id, _langchain_conversation(context)
    )
    return Command(update={"todos": todos, "messages": [answer]})


@dataclass(frozen=True, eq=False)
class _StateUpdateTool(Tool):
    """A tool that answers with a state update: invoked directly with a tool call, it
    returns its :class:`~hone.graph.Command` as it is (as LangChain's tools do) rather than
    a message wrapping it."""

    async def ainvoke(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        context: ToolContext | None = None,
    ) -> Any:
        """Run the tool once (see :meth:`Tool.ainvoke`).

        Raises:
            pydantic.ValidationError: arguments that are not a list of todos.
        """
        call_id: str | None = None
        langchain = False
        if isinstance(input, Mapping) and input.get("type") == "tool_call":
            call_id, langchain, input = input.get("id"), True, input.get("args") or {}
        elif hasattr(input, "arguments") and hasattr(input, "id"):  # hone's ToolCall
            call_id, input = input.id, dict(input.arguments)
        if isinstance(input, Mapping):
            _WriteTodosArguments.model_validate(dict(input))
        if context is None and call_id is not None:
            context = ToolContext(
                call_id=call_id, tool_name=self.name, metadata={_LANGCHAIN_ANSWER: langchain}
            )
        return await super().ainvoke(input, config, context=context)


#: The ``write_todos`` tool with the default description.
write_todos: Tool = _StateUpdateTool.from_function(
    _write_todos, name="write_todos", description=WRITE_TODOS_TOOL_DESCRIPTION
)


def _with_section(system_message: Any, section: str, model: Any) -> Any:
    """The system message with ``section`` appended after a blank line (the section alone
    when there is none), in the family of the message or, without one, the model's."""
    if system_message is None:
        from hone.agents.middleware._types import system_message_for

        return system_message_for(model, section)
    if is_langchain_message(system_message):
        from langchain_core.messages import SystemMessage as LangChainSystemMessage

        blocks = [*system_message.content_blocks, {"type": "text", "text": f"\n\n{section}"}]
        return LangChainSystemMessage(content=blocks)
    content = system_message.content
    if isinstance(content, str):
        return SystemMessage(content=f"{content}\n\n{section}")
    return SystemMessage(content=[*content, TextPart(text=f"\n\n{section}")])


class TodoListMiddleware(AgentMiddleware[Any, Any, Any]):
    """Give the agent a plan it keeps up to date: the ``write_todos`` tool, the ``todos``
    state key, and a system-prompt section on when and how to plan.

    A model turn that calls ``write_todos`` more than once gets an error answer for each of
    those calls (each call replaces the whole list, so parallel calls would race).

    Args:
        system_prompt: the section added to the system message.
        tool_description: the description of ``write_todos`` the model reads.
    """

    state_schema = PlanningState

    def __init__(
        self,
        *,
        system_prompt: str = WRITE_TODOS_SYSTEM_PROMPT,
        tool_description: str = WRITE_TODOS_TOOL_DESCRIPTION,
    ) -> None:
        self.system_prompt = system_prompt
        self.tool_description = tool_description
        self.tools = [write_todos.with_(description=tool_description)]

    def _request(self, request: ModelRequest[Any]) -> ModelRequest[Any]:
        section = _with_section(request.system_message, self.system_prompt, request.model)
        return request.override(system_message=section)

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> Any:
        """Call the model with the planning section in the system message."""
        return handler(self._request(request))

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> Any:
        """Async :meth:`wrap_model_call`."""
        return await handler(self._request(request))

    def after_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Answer every ``write_todos`` call of the last model turn with an error when the
        turn has more than one; None otherwise."""
        turn = next((m for m in reversed(state["messages"]) if _is_model_turn(m)), None)
        if turn is None:
            return None
        calls = [c for c in _tool_calls(turn) if c[1] == "write_todos"]
        if len(calls) < 2:
            return None
        langchain = is_langchain_message(turn)
        return {
            "messages": [
                _tool_answer(_PARALLEL_ERROR, call_id, langchain, error=True)
                for call_id, _ in calls
            ]
        }

    async def aafter_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Async :meth:`after_model`."""
        return self.after_model(state, runtime)


def _is_model_turn(message: Any) -> bool:
    if is_langchain_message(message):
        return getattr(message, "type", None) == "ai"
    return isinstance(message, AssistantMessage)


def _tool_calls(turn: Any) -> list[tuple[str, str]]:
    """(id, name) of each call of a model turn, either family."""
    if is_langchain_message(turn):
        return [(c.get("id") or "", c["name"]) for c in turn.tool_calls]
    return [(c.id, c.name) for c in turn.tool_calls]
