"""Every exception hone raises at an API boundary.

Inside the agent loop, mistakes the *model* makes (bad tool calls, malformed output, tool
failures) are values the model sees, never exceptions. The exceptions below are for the
*developer*: misuse, bad configuration, unreachable services, corrupt storage.

Hierarchy::

    HoneError
    ├── ConfigError                     bad configuration or API misuse
    │   ├── ModelSpecError              a model spec string that cannot be understood
    │   │   └── ModelPackageError       ... whose provider package is not installed (an ImportError)
    │   ├── ToolDefinitionError         a tool function that cannot become a schema
    │   ├── DuplicateToolError          two tools with one name
    │   ├── ToolBindingError            a model bound to other tools than its agent's (also a
    │   │                               ValueError, as LangGraph raises)
    │   ├── ToolInjectionError          an injected tool parameter the caller cannot fill (no
    │   │                               such state key, no store); raised, never shown the model
    │   ├── TrainingConfigError         unknown loss type, G < 2, missing reward, ...
    │   ├── InvalidNamespaceError       a store namespace LangGraph's rules reject (also a ValueError)
    │   ├── InvalidFilterError          a store search filter that cannot be evaluated (also a ValueError)
    │   └── ContextBudgetError          a trim budget the kept messages cannot fit (also a ValueError)
    ├── ModelError                      a model backend failed at its boundary
    │   ├── ModelConnectionError        server unreachable or timed out
    │   ├── ModelAuthError              wrong or missing API key
    │   ├── ModelNotFoundError          the server does not serve that model
    │   ├── ModelLoadError              a local checkpoint cannot be loaded
    │   │   └── ChatTemplateError       the tokenizer has no usable chat template
    │   ├── ContextOverflowError        the prompt does not fit the context window
    │   ├── CapabilityError             the backend cannot give what was asked (token ids, ...)
    │   └── StructuredOutputError       a reply that does not fit with_structured_output's schema
    │                                   (also a ValueError, as LangChain's parser error)
    ├── GraphError                      graph definition or execution
    │   ├── GraphValidationError        raised by compile(): unknown nodes, no entry point, ...
    │   │                               (also a ValueError, as LangGraph raises)
    │   ├── InvalidUpdateError          an update the schema or channels reject
    │   │   └── ToolAnswerError         a tool's Command or list that does not answer its call once
    │   │                               (also a ValueError)
    │   ├── GraphRecursionError         the recursion limit was reached (also a RecursionError)
    │   ├── ResumeError                 an ambiguous resume (also a RuntimeError)
    │   ├── EmptyInputError             a run given no input and nothing to resume
    │   ├── EmptyChannelError           a channel read before it has a value
    │   ├── NodeTimeoutError            a node ran past its TimeoutPolicy
    │   └── NodeCancelledError          a node raised CancelledError itself
    ├── ToolArgumentsError              arguments a tool's schema rejects (direct calls only;
    │   │                               aexecute_tool_calls turns them into a ToolMessage)
    │   └── ToolInvocationError         the same, raised by a ToolNode told not to handle it
    ├── GuardrailError                  a guardrail failed: it raised, or returned no decision
    │   └── GuardrailTripwireError      a guardrail decided to stop the run
    ├── CheckpointError                 storage of checkpoints
    │   ├── CheckpointNotFoundError     no such thread or checkpoint
    │   ├── CheckpointCorruptError      a stored row cannot be decoded
    │   └── CheckpointVersionError      a row written by a newer format version
    ├── StoreError                      long-term store (hone.store) storage failed
    │   └── EmbeddingMismatchError      vectors from another embedder, or of another dimension
    ├── SandboxError                    a sandbox cannot do what the developer asked
    │   ├── SandboxStartError           the worker did not start, or a required layer is missing
    │   ├── SandboxEndedError           the session's worker is gone (restart it)
    │   ├── SandboxBusyError            a second request while one runs on the same session
    │   └── SandboxValueError           a variable that is missing or is not a JSON value
    ├── MCPServerError                  an MCP server (hone.mcp) cannot be used as asked
    │   ├── MCPConnectionError          it cannot be started or reached, or it hung up (a crash)
    │   ├── MCPProtocolError            a JSON-RPC error, or a reply that does not fit the protocol
    │   └── MCPToolSchemaError          a tool whose name or input schema hone cannot use
    ├── SearchError                     a search (hone.search) that cannot go on
    │   ├── SearchStateError            a saved search state that cannot be restored
    │   └── UnknownTrialError           a tell for a trial this search never handed out
    │                                   (also a KeyError)
    ├── TrajectoryError                 an episode that cannot be decoded or stored
    │   ├── TrajectoryVersionError      an episode written by a newer schema version
    │   ├── SessionNotFoundError        a gateway session with no recorded call (also a KeyError)
    │   └── SessionRewardedError        a second reward, or a call, for a rewarded session
    └── TrainingError                   a training run cannot go on
        ├── PrefixPropertyError         a chat template rewrites earlier turns
        └── PublishError                a new policy could not be made live on a server
                                        (adapter load failed, timeout); the old one stays

    GraphWarning (a UserWarning)        a graph LangGraph runs but that looks mistaken
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "CapabilityError",
    "ChatTemplateError",
    "CheckpointCorruptError",
    "CheckpointError",
    "CheckpointNotFoundError",
    "CheckpointVersionError",
    "ConfigError",
    "ContextBudgetError",
    "ContextOverflowError",
    "DuplicateToolError",
    "EmbeddingMismatchError",
    "EmptyChannelError",
    "EmptyInputError",
    "GraphError",
    "GraphRecursionError",
    "GraphValidationError",
    "GraphWarning",
    "GuardrailError",
    "GuardrailTripwireError",
    "HoneError",
    "InvalidFilterError",
    "InvalidNamespaceError",
    "InvalidUpdateError",
    "MCPConnectionError",
    "MCPProtocolError",
    "MCPServerError",
    "MCPToolSchemaError",
    "ModelAuthError",
    "ModelConnectionError",
    "ModelError",
    "ModelLoadError",
    "ModelNotFoundError",
    "ModelPackageError",
    "ModelSpecError",
    "NodeCancelledError",
    "NodeTimeoutError",
    "PrefixPropertyError",
    "PublishError",
    "ResumeError",
    "SandboxBusyError",
    "SandboxEndedError",
    "SandboxError",
    "SandboxStartError",
    "SandboxValueError",
    "SearchError",
    "SearchStateError",
    "SessionNotFoundError",
    "SessionRewardedError",
    "StoreError",
    "StructuredOutputError",
    "ToolAnswerError",
    "ToolArgumentsError",
    "ToolBindingError",
    "ToolDefinitionError",
    "ToolInjectionError",
    "ToolInvocationError",
    "TrainingConfigError",
    "TrainingError",
    "TrajectoryError",
    "TrajectoryVersionError",
    "UnknownTrialError",
    "is_invalid_resume",
]


class HoneError(Exception):
    """Base class of every exception hone raises."""


class ConfigError(HoneError):
    """Bad configuration or misuse of the API."""


class ModelSpecError(ConfigError):
    """A model spec string that cannot be understood."""


class ModelPackageError(ModelSpecError, ImportError):
    """A model spec whose provider needs a package that is not installed (also an
    ``ImportError``, which is what code written for LangChain's ``init_chat_model`` catches)."""


class ToolDefinitionError(ConfigError):
    """A Python function or schema that cannot become a tool."""


class ToolInjectionError(ConfigError):
    """A tool parameter marked for injection (``InjectedState("key")``, ``InjectedStore()``)
    that the caller cannot fill: the state has no such key, the graph has no store.

    It is the developer's mistake, not the model's, so ``ToolNode`` raises it. The concrete
    errors are also a ``KeyError``, ``AttributeError`` or ``ValueError``, as LangGraph raises.
    """


class DuplicateToolError(ConfigError):
    """Two tools share one name."""


class ToolBindingError(ConfigError, ValueError):
    """A model given to ``create_react_agent`` already bound (``bind_tools``) to tools that
    are not the agent's: one the agent does not have, or (for the agent's own model) not
    every one it has. Also a ``ValueError``, as LangGraph raises it."""


class TrainingConfigError(ConfigError):
    """A training configuration that cannot run."""


class ModelError(HoneError):
    """A model backend failed at its boundary."""


class ModelConnectionError(ModelError):
    """The model server cannot be reached, or did not answer in time."""


class ModelAuthError(ModelError):
    """The model server refused the API key."""


class ModelNotFoundError(ModelError):
    """The model server does not serve the requested model."""


class ModelLoadError(ModelError):
    """A local checkpoint cannot be loaded."""


class ChatTemplateError(ModelLoadError):
    """The tokenizer has no chat template, or one that cannot render the request."""


class ContextOverflowError(ModelError):
    """The prompt does not fit in the model's context window."""


class CapabilityError(ModelError):
    """The backend cannot provide what was asked of it (token ids, logprobs, ...)."""


class StructuredOutputError(ModelError, ValueError):
    """A reply that ``with_structured_output`` cannot parse into its schema.

    ``schema`` names the schema, ``problem`` says what is wrong, ``raw`` is the reply.
    """

    def __init__(self, schema: str, problem: str, raw: Any = None) -> None:
        self.schema = schema
        self.problem = problem
        self.raw = raw
        super().__init__(f"the reply does not fit the output schema {schema!r}: {problem}")

    def __reduce__(self) -> tuple[type[StructuredOutputError], tuple[str, str, Any]]:
        return (type(self), (self.schema, self.problem, self.raw))


class GraphError(HoneError):
    """A graph that cannot be built or run."""


class GraphValidationError(GraphError, ValueError):
    """A graph definition error found by ``add_node``, ``add_edge`` or ``compile()``."""


class InvalidUpdateError(GraphError):
    """A state update the schema or a channel rejects."""


class ToolAnswerError(InvalidUpdateError, ValueError):
    """A tool's ``Command`` (or list of commands and messages) that a ``ToolNode`` cannot
    use: its update does not answer the call with exactly one ``ToolMessage``, or has the
    other shape from the node's input (a dict for a list of messages, a list for a state).
    Also a ``ValueError``, as LangGraph raises it."""


class GraphRecursionError(GraphError, RecursionError):
    """The run reached its recursion limit before reaching END."""


class ResumeError(GraphError, RuntimeError):
    """A resume the runtime cannot match to its pending interrupts."""


class EmptyInputError(GraphError):
    """A run started with no input (or an empty ``Command``) and nothing to resume."""


class EmptyChannelError(GraphError):
    """A channel was read before it had a value."""


class NodeTimeoutError(GraphError):
    """A node ran longer than its :class:`~hone.graph.TimeoutPolicy` allows.

    Not a ``TimeoutError`` (an ``OSError``), so the default retry policy retries it.
    ``kind`` says which limit fired ("run" or "idle"); ``timeout`` is that limit.
    """

    def __init__(
        self,
        node: str,
        elapsed: float,
        *,
        kind: str,
        idle_timeout: float | None = None,
        run_timeout: float | None = None,
    ) -> None:
        if kind == "idle":
            if idle_timeout is None:
                raise ValueError("idle_timeout is required when kind='idle'")
            timeout = idle_timeout
            message = (
                f"Node '{node}' exceeded its idle timeout of {idle_timeout:.3f}s without "
                f"making progress (elapsed: {elapsed:.3f}s)."
            )
        elif kind == "run":
            if run_timeout is None:
                raise ValueError("run_timeout is required when kind='run'")
            timeout = run_timeout
            message = (
                f"Node '{node}' exceeded its run timeout of {run_timeout:.3f}s "
                f"(elapsed: {elapsed:.3f}s)."
            )
        else:
            raise ValueError("kind must be 'idle' or 'run'")
        super().__init__(message)
        self.node = node
        self.elapsed = elapsed
        self.kind = kind
        self.timeout = timeout
        self.idle_timeout = idle_timeout
        self.run_timeout = run_timeout

    def __reduce__(self) -> Any:
        return (
            _rebuild_timeout,
            (self.node, self.elapsed, self.kind, self.idle_timeout, self.run_timeout),
        )


def _rebuild_timeout(
    node: str, elapsed: float, kind: str, idle: float | None, run: float | None
) -> NodeTimeoutError:
    return NodeTimeoutError(node, elapsed, kind=kind, idle_timeout=idle, run_timeout=run)


class NodeCancelledError(GraphError):
    """A node raised ``CancelledError`` by itself (not because the run was cancelled)."""

    def __init__(self, node: str, message: str | None = None) -> None:
        super().__init__(message or f"Node {node!r} raised asyncio.CancelledError")
        self.node = node

    def __reduce__(self) -> Any:
        return (type(self), (self.node, str(self)))


class GraphWarning(UserWarning):
    """A graph program LangGraph runs but that probably has a mistake: a node writing a key
    the state schema does not have (the write is ignored), a route to an unknown node, a node
    no edge reaches. hone warns where LangGraph runs, and raises where LangGraph raises."""


class ToolArgumentsError(HoneError):
    """Arguments that a tool's parameter schema rejects.

    Raised only when a tool is invoked directly (``await tool.ainvoke(...)``); inside the agent
    loop, ``aexecute_tool_calls`` turns it into an error ``ToolMessage`` the model can act on.
    ``problems`` lists one line per rejected field.
    """

    def __init__(self, tool_name: str, problems: Sequence[str]) -> None:
        self.tool_name = tool_name
        self.problems = tuple(problems)
        lines = "\n".join(f"- {p}" for p in self.problems)
        super().__init__(f"invalid arguments for tool {tool_name!r}:\n{lines}")

    def __reduce__(self) -> tuple[type[ToolArgumentsError], tuple[str, tuple[str, ...]]]:
        return (type(self), (self.tool_name, self.problems))


class ToolInvocationError(ToolArgumentsError):
    """Arguments a tool's schema rejects, raised by a graph ``ToolNode`` whose
    ``handle_tool_errors`` does not handle them (LangGraph's ``ToolInvocationError``).

    ``message`` is the text a handling ``ToolNode`` gives the model (LangGraph's wording);
    ``tool_kwargs`` the arguments the model sent; ``filtered_errors`` the problems as
    LangGraph's error dicts (``{"loc": ("field", ...), "msg": "..."}``; injected parameters,
    which the model does not send, never appear).
    """

    def __init__(
        self, tool_name: str, problems: Sequence[str], tool_kwargs: Mapping[str, Any]
    ) -> None:
        super().__init__(tool_name, problems)
        self.tool_kwargs = dict(tool_kwargs)
        lines = "\n".join(self.problems)
        self.message = (
            f"Error invoking tool {tool_name!r} with kwargs {self.tool_kwargs} with error:\n"
            f" {lines}\n Please fix the error and try again."
        )
        self.args = (self.message,)

    def __str__(self) -> str:
        return self.message

    @property
    def filtered_errors(self) -> list[dict[str, Any]]:
        """One ``{"loc": ..., "msg": ...}`` per problem (``"a.b[0]: msg"`` gives
        ``("a", "b", 0)``)."""
        return [_error_dict(problem) for problem in self.problems]

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.tool_name, self.problems, self.tool_kwargs))


def _error_dict(problem: str) -> dict[str, Any]:
    where, sep, msg = problem.partition(": ")
    if not sep:
        return {"loc": (), "msg": problem}
    loc: list[str | int] = []
    for part in where.replace("]", "").replace("[", ".").split("."):
        if part:
            loc.append(int(part) if part.isdigit() else part)
    return {"loc": tuple(loc), "msg": msg}


class GuardrailError(HoneError):
    """A guardrail (``hone.agents``) failed while the agent ran: it raised an exception, or
    returned something other than a decision its stage accepts.

    ``guardrail`` names it; ``stage`` says where it ran (``input``, ``output``,
    ``tool_input``, ``tool_output``).
    """

    def __init__(self, guardrail: str, stage: str, problem: str) -> None:
        self.guardrail = guardrail
        self.stage = stage
        self.problem = problem
        super().__init__(f"{stage} guardrail {guardrail!r} {problem}")

    def __reduce__(self) -> Any:
        return (type(self), (self.guardrail, self.stage, self.problem))


class GuardrailTripwireError(GuardrailError):
    """A guardrail decided that the run must stop (``GuardrailResult.raise_exception()``).

    ``message`` is its reason (or None); ``event`` the decision as recorded (a
    ``hone.agents.GuardrailEvent``).
    """

    def __init__(
        self, guardrail: str, stage: str, message: str | None = None, event: Any = None
    ) -> None:
        self.message = message
        self.event = event
        reason = f": {message}" if message else ""
        super().__init__(guardrail, stage, f"tripped{reason}")

    def __reduce__(self) -> Any:
        return (type(self), (self.guardrail, self.stage, self.message, self.event))


class CheckpointError(HoneError):
    """Checkpoint storage failed."""


class CheckpointNotFoundError(CheckpointError):
    """No such thread or checkpoint."""


class CheckpointCorruptError(CheckpointError):
    """A stored checkpoint cannot be decoded."""


class CheckpointVersionError(CheckpointError):
    """A stored checkpoint was written by a newer storage format than this hone reads."""


class StoreError(HoneError):
    """Long-term store (:mod:`hone.store`) storage failed: the database is unreachable, closed,
    or holds rows this hone cannot read."""


class EmbeddingMismatchError(StoreError):
    """Stored vectors were made by another embedder or have another dimension than the store's
    index config, or an embedder returned vectors of the wrong dimension."""


class InvalidNamespaceError(ConfigError, ValueError):
    """A store namespace LangGraph's rules reject: empty, a label that is not a non-empty
    string, a label with ``.`` or a NUL byte, or ``"langgraph"`` as the root label."""


class InvalidFilterError(ConfigError, ValueError):
    """A store search filter that cannot be evaluated: an unknown ``$`` operator, an operand
    the operator cannot compare, or a malformed field path."""


class ContextBudgetError(ConfigError, ValueError):
    """A short-term memory budget that cannot be met: the messages that must stay (the system
    prompt) alone exceed it, or the budget is not positive."""


class TrajectoryError(HoneError):
    """An episode (trajectory) that cannot be decoded or stored."""


class TrajectoryVersionError(TrajectoryError):
    """An episode written by a newer trajectory schema version than this hone reads."""


class SessionNotFoundError(TrajectoryError, KeyError):
    """A gateway session (``hone gateway``) that has no recorded call."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SessionRewardedError(TrajectoryError):
    """A reward, or a new call, for a gateway session that was already rewarded."""


class TrainingError(HoneError):
    """A training run that cannot go on."""


class PrefixPropertyError(TrainingError):
    """A chat template that rewrites earlier turns, so token ids cannot be appended."""


class PublishError(TrainingError):
    """A new policy version could not be made live on a generation server (the adapter did
    not load, the server refused or timed out); the version served before stays live."""


class SandboxError(HoneError):
    """A sandbox cannot do what the developer asked."""


class SandboxStartError(SandboxError):
    """The worker did not start, did not answer in time, or a layer the configuration
    requires (``Layers.require``) is missing on this platform."""


class SandboxEndedError(SandboxError):
    """The session's worker is gone (it crashed, was killed after a timeout, or the session
    was closed); ``arestart()`` starts a fresh one, with empty variables."""


class SandboxBusyError(SandboxError):
    """A request reached a session while another was running on it: a session runs one
    request at a time (start a second session for concurrent work)."""


class SandboxValueError(SandboxError):
    """A variable the session does not have, or a value that is not JSON (what crosses the
    boundary between the host and the worker)."""


class MCPServerError(HoneError):
    """An MCP server (:mod:`hone.mcp`) cannot be used as asked; ``server`` is the name the
    client gave it.

    Inside an agent run these are values, not exceptions: an MCP tool that raises one becomes
    a ``ToolMessage(is_error=True)`` naming the server, as every tool failure does.
    """

    def __init__(self, server: str, message: str) -> None:
        self.server = server
        super().__init__(message)

    def __reduce__(self) -> Any:
        return (type(self), (self.server, str(self)))


class MCPConnectionError(MCPServerError):
    """The MCP server cannot be started or reached, or it closed the connection (it crashed,
    or its process exited). The client reconnects at the next call."""


class MCPProtocolError(MCPServerError):
    """The MCP server answered with a JSON-RPC error (an unknown tool, a refused request) or
    a reply that does not fit the protocol (a malformed tool list or result)."""


class MCPToolSchemaError(MCPServerError):
    """A tool an MCP server lists whose name or input schema hone cannot use.

    ``tool`` is the tool's name on the server and ``problem`` says what is wrong.
    """

    def __init__(self, server: str, tool: str, problem: str) -> None:
        self.tool = tool
        self.problem = problem
        super().__init__(server, f"MCP server {server!r}: tool {tool!r} {problem}")

    def __reduce__(self) -> Any:
        return (type(self), (self.server, self.tool, self.problem))


class SearchError(HoneError):
    """A search that cannot go on."""


class SearchStateError(SearchError):
    """A saved search state that cannot be restored; the message names the field and why."""


class UnknownTrialError(SearchError, KeyError):
    """``tell`` was given a trial id this search state never handed out."""

    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id
        super().__init__(f"unknown trial {trial_id!r}: ask() never handed it out in this search")

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])

    def __reduce__(self) -> tuple[type[UnknownTrialError], tuple[str]]:
        return (type(self), (self.trial_id,))


#: The attribute marking a validation error as an interrupt's rejected answer (hone's, set by
#: ``hone.graph.interrupt``), and LangGraph's (a LangGraph graph run from a hone tool marks
#: its own errors so).
_INVALID_RESUME = "_hone_invalid_resume"
_LANGGRAPH_INVALID_RESUME = "_langgraph_invalid_resume"


def is_invalid_resume(error: BaseException) -> bool:
    """Whether ``error`` is an ``interrupt()``'s answer that did not fit its
    ``response_schema`` (LangGraph's ``is_invalid_resume``).

    It is the person's answer that is wrong, not the model's tool arguments, so tool nodes and
    tool-error middleware never answer it as the model's error, and retries never repeat it:
    the run fails with it and the interrupt can be answered again.
    """
    return (
        getattr(error, _INVALID_RESUME, False) is True
        or getattr(error, _LANGGRAPH_INVALID_RESUME, False) is True
    )
