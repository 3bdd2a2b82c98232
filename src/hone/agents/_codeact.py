"""CodeAct: the model acts by writing Python, which runs in a sandbox session; what the code
printed is the next observation.

::

    START ─► agent ─┬─► execute ─┬─► agent ...
                    └─► END      └─► END (the code called final_answer)

``agent`` (role ``coder``) answers with a fenced ````python`` block, or without one (that
reply is the answer). ``execute`` runs the block in the thread's session (variables,
functions and imports persist between blocks and between runs on one thread) and adds what
it printed, cut to the sandbox's limit, as a user message (named ``"sandbox"``). Tools are
Python functions in the code; each call goes through hone's tool executor on the host
(validation, timeouts, retries), and a failure raises ``HostError`` in the code. Errors,
timeouts and crashes in the code are observations too: the model sees them and can recover,
and the host run goes on.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, NotRequired, TypedDict

from hone.agent._scope import report_stop
from hone.agents._roles import Models, RoleModels, role_metadata
from hone.errors import ConfigError
from hone.graph._builder import StateGraph
from hone.graph._context import get_config
from hone.graph._messages import add_messages
from hone.graph._model_stream import astream_model
from hone.graph._types import END, START, Command
from hone.interop._messages import from_langchain, is_langchain_message
from hone.messages import AnyMessage, AssistantMessage, SystemMessage, UserMessage, to_message
from hone.models._protocol import ChatRequest, SamplingOptions
from hone.sandbox import (
    HostFunction,
    ProcessSandbox,
    Sandbox,
    SandboxSession,
    host_functions,
    tool_functions,
)
from hone.tools import ExecutionOptions, ToolLike, ToolRegistry

if TYPE_CHECKING:
    from hone.checkpoint import Checkpointer
    from hone.graph._compiled import CompiledGraph

__all__ = ["CODEACT_PROMPT", "CodeActState", "create_codeact_agent", "extract_code"]

_PATTERN = "create_codeact_agent"
_ROLE = "coder"
#: The name of the user messages that carry what the code printed.
OBSERVATION = "sandbox"

#: The coder's default system prompt; ``{functions}`` lists the functions the code can call.
CODEACT_PROMPT = """\
You solve tasks by writing Python code. To run code, reply with one fenced block:

```python
print(2 + 2)
```

The code runs in a persistent session: variables, functions and imports stay between blocks.
You see only what the code prints (long output is cut), so print what you need. These
functions can be called from the code:

{functions}

When you know the answer, call final_answer(answer) in a block, or reply without a code
block: that reply is the answer."""

_LAST_TURN = "You have no code steps left. Reply now with your final answer, without code."
_FRESH = "[a fresh sandbox session was started: variables from earlier blocks are gone]"
_FENCE = re.compile(r"```(?:python3?|py)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)


def extract_code(text: str) -> str | None:
    """The code of a reply's fenced Python blocks (```python, ```py or a bare fence), joined
    in order; None when there is none. A block cut off at the end of the reply counts."""
    blocks = [block.strip("\n") for block in _FENCE.findall(text) if block.strip()]
    return "\n".join(blocks) if blocks else None


class CodeActState(TypedDict):
    """The state of :func:`create_codeact_agent`. Invoke with ``{"messages": [...]}`` (or a
    task as one user message); the answer is ``answer``.

    Attributes:
        messages: the conversation: user turns, the coder's replies, and what each block
            printed (user messages named ``"sandbox"``).
        answer: the last run's answer (``final_answer``'s argument as text, or the reply
            without code).
        sandbox: the id of the thread's sandbox session (a fresh one is started when it is
            not running in this process, and the model is told its variables are gone).
    """

    messages: Annotated[list[AnyMessage], add_messages]
    answer: NotRequired[str]
    sandbox: NotRequired[str]


@dataclass(eq=False)
class _Entry:
    session: SandboxSession
    answer: list[str] = field(default_factory=list)


class _Sessions:
    """The live sandbox sessions of one agent, by id (least recently used closed first)."""

    def __init__(
        self, sandbox: Sandbox, functions: Sequence[HostFunction], max_sessions: int
    ) -> None:
        self.sandbox = sandbox
        self.functions = tuple(functions)
        self.max_sessions = max_sessions
        self._live: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    async def acquire(self, key: str | None) -> tuple[str, _Entry, bool]:
        """The session ``key`` names, or a fresh one: (its id, it, whether it is fresh)."""
        entry = None
        if key is not None:
            with self._lock:
                entry = self._live.get(key)
                if entry is not None:
                    self._live.move_to_end(key)
        if key is not None and entry is not None:
            if entry.session.alive:
                return key, entry, False
            await entry.session.arestart()
            return key, entry, True
        key = key or uuid.uuid4().hex
        holder: list[str] = []
        session = await self.sandbox.astart([*self.functions, _final_answer(holder)])
        entry = _Entry(session, holder)
        with self._lock:
            self._live[key] = entry
            evicted = []
            while len(self._live) > self.max_sessions:
                evicted.append(self._live.popitem(last=False)[1])
        for old in evicted:
            await old.session.aclose()
        return key, entry, True

    async def release(self, key: str) -> None:
        """Close session ``key`` (a run without a thread is over)."""
        with self._lock:
            entry = self._live.pop(key, None)
        if entry is not None:
            await entry.session.aclose()


def _final_answer(holder: list[str]) -> HostFunction:
    def final_answer(answer: Any) -> None:
        holder.append(answer if isinstance(answer, str) else json.dumps(answer))

    return HostFunction(
        name="final_answer",
        handler=final_answer,
        doc="Give the final answer to the task; the run ends after this block.",
        signature="(answer: Any) -> None",
    )


@dataclass(frozen=True, slots=True)
class _Settings:
    models: RoleModels
    sessions: _Sessions
    system: str
    sampling: SamplingOptions
    max_steps: int


def _hone_messages(messages: Iterable[Any]) -> list[AnyMessage]:
    return [from_langchain(m) if is_langchain_message(m) else to_message(m) for m in messages]


def _steps_taken(messages: Sequence[AnyMessage]) -> int:
    """Code blocks run since the last user turn (observations are user messages too)."""
    steps = 0
    for message in reversed(messages):
        if isinstance(message, UserMessage):
            if message.name != OBSERVATION:
                break
            steps += 1
    return steps


def _thread_id() -> str | None:
    try:
        configurable = get_config().get("configurable") or {}
    except RuntimeError:
        return None
    thread = configurable.get("thread_id")
    return None if thread is None else f"{thread}:{configurable.get('checkpoint_ns', '')}"


async def _finish(s: _Settings, state: CodeActState, update: dict[str, Any]) -> Command[str]:
    """End the run; a session used by a run without a thread is closed with it."""
    key = update.get("sandbox") or state.get("sandbox")
    if key and _thread_id() is None:
        await s.sessions.release(key)
    return Command(update=update, goto=END)


def _agent_node(s: _Settings) -> Callable[[CodeActState], Awaitable[Command[str]]]:
    async def agent(state: CodeActState) -> Command[str]:
        history = _hone_messages(state.get("messages") or [])
        if not history:
            raise ConfigError(
                f"{_PATTERN} is invoked with {{'messages': [<the task>]}}; got no messages"
            )
        last_turn = _steps_taken(history) >= s.max_steps
        request = [SystemMessage(content=s.system), *history]
        if last_turn:
            request.append(UserMessage(content=_LAST_TURN))
        backend = s.models.get(_ROLE)
        completion = await astream_model(
            backend, ChatRequest(messages=tuple(request), options=s.sampling)
        )
        reply = AssistantMessage(content=completion.message.text)
        code = extract_code(reply.text)
        if code is None or last_turn:
            answer = reply.text if code is None else _FENCE.sub("", reply.text).strip()
            report_stop("step_budget" if last_turn else "answered", backend)
            return await _finish(s, state, {"messages": [reply], "answer": answer})
        return Command(update={"messages": [reply]}, goto="execute")

    return agent


def _execute_node(s: _Settings) -> Callable[[CodeActState], Awaitable[Command[str]]]:
    async def execute(state: CodeActState) -> Command[str]:
        history = _hone_messages(state.get("messages") or [])
        code = extract_code(history[-1].text) if history else None
        known = state.get("sandbox")
        key, entry, fresh = await s.sessions.acquire(known)
        entry.answer.clear()
        result = await entry.session.arun(code or "")
        text = result.observation()
        if fresh and known is not None and not result.ended:
            text = f"{_FRESH}\n{text}"
        observation = UserMessage(content=text, name=OBSERVATION)
        update: dict[str, Any] = {"messages": [observation], "sandbox": key}
        if result.ended:
            # The next block needs a worker; the model was told its variables are gone.
            await entry.session.arestart()
        if entry.answer:
            update["answer"] = entry.answer[-1]
            report_stop("answered", s.models.get(_ROLE))
            return await _finish(s, state, update)
        return Command(update=update, goto="agent")

    return execute


def create_codeact_agent(
    model: Models,
    tools: ToolRegistry | Sequence[ToolLike] = (),
    *,
    sandbox: Sandbox | None = None,
    functions: Iterable[HostFunction | Callable[..., Any]] = (),
    prompt: str = CODEACT_PROMPT,
    options: SamplingOptions | None = None,
    max_steps: int = 10,
    execution: ExecutionOptions | None = None,
    max_sessions: int = 8,
    checkpointer: Checkpointer | None = None,
    name: str = "codeact",
) -> CompiledGraph:
    """A compiled CodeAct agent (state :class:`CodeActState`; invoke with
    ``{"messages": [("user", "the task")]}``, read ``answer``).

    The coder (role ``coder``) writes Python in fenced blocks; each block runs in a sandbox
    session and what it printed is the next observation. ``tools`` are Python functions in
    the code (positional or keyword arguments; their results come back as values), run on
    the host through hone's tool executor; ``functions`` are more host functions. The code
    ends the run with ``final_answer(answer)``; a reply without code ends it too. After
    ``max_steps`` blocks in one run the coder is asked for the answer without code.

    Sessions: one per thread (kept across runs on that thread, so a follow-up question sees
    the earlier variables), at most ``max_sessions`` alive (the least recently used is
    closed); a run without a thread gets its own session, closed when the run ends. A
    session that crashed or timed out and was killed is restarted, and the model is told.

    Args:
        model: the coder's model: a hone backend, a spec string, a LangChain chat model, or
            ``{"coder": model}``; None: the run gives it.
        tools: the tools the code can call.
        sandbox: where code runs (default: :class:`~hone.sandbox.ProcessSandbox` with its
            default limits and every layer the platform has).
        functions: more host functions for the code (``llm_query``, say).
        prompt: the system prompt; ``{functions}`` is replaced with the functions' Python
            signatures and docs.
        options: sampling options for every call.
        max_steps: code blocks per run before the coder must answer.
        execution: the tool executor's settings (timeouts, retries, output limit, guard).
        max_sessions: sandbox sessions kept alive at once.
        checkpointer: saves each step; needed for threads and resumes.
        name: the graph's name.

    Raises:
        ConfigError: ``max_steps`` or ``max_sessions`` below 1; two functions with one
            name; a models mapping that does not name ``coder``.
    """
    if max_steps < 1 or max_sessions < 1:
        raise ConfigError(
            f"{_PATTERN}: max_steps and max_sessions must be at least 1, got "
            f"{max_steps} and {max_sessions}"
        )
    offered = [*tool_functions(tools, execution=execution), *host_functions(functions)]
    host_functions([*offered, _final_answer([])])  # names must be unique
    listing = "\n\n".join(f.describe() for f in [*offered, _final_answer([])])
    s = _Settings(
        models=RoleModels(model, (_ROLE,), pattern=_PATTERN),
        sessions=_Sessions(sandbox or ProcessSandbox(), offered, max_sessions),
        system=prompt.replace("{functions}", listing),
        sampling=options or SamplingOptions(),
        max_steps=max_steps,
    )
    graph = StateGraph(CodeActState)
    graph.add_node(
        "agent", _agent_node(s), metadata=role_metadata(_ROLE), destinations=("execute", END)
    )
    graph.add_node("execute", _execute_node(s), destinations=("agent", END))
    graph.add_edge(START, "agent")
    return graph.compile(checkpointer, name=name)
