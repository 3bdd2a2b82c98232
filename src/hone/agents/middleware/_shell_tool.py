"""``ShellToolMiddleware``: a ``shell`` tool backed by one persistent shell session per agent
run (LangChain's ``ShellToolMiddleware``).

The session (:class:`~hone.agents.middleware.ShellSession`) starts in ``before_agent`` (in
``workspace_root``, or a temporary folder), runs the startup commands, and lives in the
state's untracked ``shell_session_resources`` key, so it is never checkpointed and a resumed
run reuses it. Each tool call runs one command (or restarts the session); its output passes
through the redaction rules and comes back with notes on truncation and a non-zero exit
status. ``after_agent`` runs the shutdown commands and stops the shell.

How the shell is started and confined is the execution policy's business
(``_shell_execution``): on the host, in Docker, or under the Codex CLI sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import weakref
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NotRequired

import pydantic

from hone.agents.middleware._base import AgentMiddleware
from hone.agents.middleware._redaction import (
    PIIDetectionError,
    PIIMatch,
    RedactionRule,
    ResolvedRedactionRule,
)
from hone.agents.middleware._shell_execution import (
    SHELL_TEMP_PREFIX,
    BaseExecutionPolicy,
    HostExecutionPolicy,
)
from hone.agents.middleware._shell_session import CommandExecutionResult, ShellSession
from hone.agents.middleware._types import AgentState, PrivateStateAttr, ResponseT
from hone.errors import ToolArgumentsError
from hone.graph import Command, UntrackedValue
from hone.interop._messages import is_langchain_message
from hone.messages import ToolMessage
from hone.tools import Tool, ToolContext

__all__ = [
    "DEFAULT_TOOL_DESCRIPTION",
    "SHELL_TOOL_NAME",
    "ShellToolError",
    "ShellToolMiddleware",
    "ShellToolState",
]

logger = logging.getLogger(__name__)

#: The tool's default name.
SHELL_TOOL_NAME = "shell"
#: The tool's default description (LangChain's wording).
DEFAULT_TOOL_DESCRIPTION = (
    "Execute a shell command inside a persistent session. Before running a command, "
    "confirm the working directory is correct (e.g., inspect with `ls` or `pwd`) and ensure "
    "any parent directories exist. Prefer absolute paths and quote paths containing spaces, "
    'such as `cd "/path/with spaces"`. Chain multiple commands with `&&` or `;` instead of '
    "embedding newlines. Avoid unnecessary `cd` usage unless explicitly required so the "
    "session remains stable. Outputs may be truncated when they become very large, and long "
    "running commands will be terminated once their configured timeout elapses."
)


class ShellToolError(RuntimeError):
    """The shell tool cannot run a call: no command was given, or the session could not be
    restarted. Inside the agent loop it becomes an error answer the model sees (in a hone
    conversation) or propagates as LangChain's ``ToolException`` does."""


def _release(session: ShellSession, tempdir: Any, timeout: float) -> None:
    with contextlib.suppress(Exception):
        session.stop(timeout)
    if tempdir is not None:
        with contextlib.suppress(Exception):
            tempdir.cleanup()


@dataclass
class _SessionResources:
    """A run's shell session and its temporary workspace (None for a given workspace),
    released by ``finalizer``: explicitly in ``after_agent``, or when garbage-collected."""

    session: ShellSession
    tempdir: tempfile.TemporaryDirectory[str] | None
    policy: BaseExecutionPolicy
    finalizer: weakref.finalize[Any, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.finalizer = weakref.finalize(
            self, _release, self.session, self.tempdir, self.policy.termination_timeout
        )


class ShellToolState(AgentState[ResponseT]):
    """The agent's state with the run's shell session (untracked: never checkpointed, and
    private: not part of the agent's input or output)."""

    shell_session_resources: NotRequired[
        Annotated[_SessionResources | None, UntrackedValue, PrivateStateAttr]
    ]


class _ShellToolInput(pydantic.BaseModel):
    """The shell tool's arguments: a command to run, or a restart of the session."""

    command: str | None = pydantic.Field(default=None, description="The shell command to execute.")
    restart: bool | None = pydantic.Field(
        default=None, description="Whether to restart the shell session."
    )

    @pydantic.model_validator(mode="after")
    def _one_of(self) -> _ShellToolInput:
        if self.command is None and not self.restart:
            raise ValueError("Shell tool requires either 'command' or 'restart'.")
        if self.command is not None and self.restart:
            raise ValueError("Specify only one of 'command' or 'restart'.")
        return self


def _validate_input(tool_name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    try:
        checked = _ShellToolInput.model_validate(dict(arguments))
    except pydantic.ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" if e["loc"] else e["msg"]
            for e in exc.errors()
        ]
        raise ToolArgumentsError(tool_name, problems) from exc
    return {"command": checked.command, "restart": bool(checked.restart)}


def _commands(commands: Sequence[str] | str | None) -> tuple[str, ...]:
    if commands is None:
        return ()
    return (commands,) if isinstance(commands, str) else tuple(commands)


def _shell_argv(shell_command: Sequence[str] | str | None) -> tuple[str, ...]:
    if shell_command is None:
        return ("/bin/bash",)
    argv = (shell_command,) if isinstance(shell_command, str) else tuple(shell_command)
    if not argv:
        raise ValueError("Shell command must contain at least one argument.")
    return argv


def _environment(env: Mapping[str, Any] | None) -> dict[str, str] | None:
    if env is None:
        return None
    for key in env:
        if not isinstance(key, str):
            raise TypeError(f"Environment variable names must be strings, got {key!r}.")
    return {key: str(value) for key, value in env.items()}


class ShellToolMiddleware(AgentMiddleware[ShellToolState[Any], Any, Any]):
    """Give the agent a ``shell`` tool that runs commands in one persistent shell session.

    The execution policy decides where the shell runs: :class:`HostExecutionPolicy` (the
    default: this machine, no isolation), :class:`DockerExecutionPolicy` (a container per
    run) or :class:`CodexSandboxExecutionPolicy` (the Codex CLI's sandbox). Redaction
    rules rewrite (or block) the output before the model sees it; they do not stop a command
    from reading or sending secrets.

    Args:
        workspace_root: the shell's working folder (made if missing); None: a temporary
            folder per run, removed when the run ends.
        startup_commands: run after the shell starts (and after each restart); one failing
            raises ``RuntimeError``.
        shutdown_commands: run before the shell stops; failures are only logged.
        execution_policy: see above (default ``HostExecutionPolicy()``).
        redaction_rules: :class:`RedactionRule` s applied to every command's output.
        tool_description: the tool's description (default :data:`DEFAULT_TOOL_DESCRIPTION`).
        tool_name: the tool's name (default ``"shell"``).
        shell_command: the shell to run, a path or an argv (default ``/bin/bash``).
        env: the shell's environment, values made strings (default: none given to the
            policy, so a host shell starts with an empty environment as LangChain's does).

    Raises:
        ValueError: an empty ``shell_command``.
        TypeError: a non-string name in ``env``.
    """

    state_schema = ShellToolState

    def __init__(
        self,
        workspace_root: str | Path | None = None,
        *,
        startup_commands: tuple[str, ...] | list[str] | str | None = None,
        shutdown_commands: tuple[str, ...] | list[str] | str | None = None,
        execution_policy: BaseExecutionPolicy | None = None,
        redaction_rules: tuple[RedactionRule, ...] | list[RedactionRule] | None = None,
        tool_description: str | None = None,
        tool_name: str = SHELL_TOOL_NAME,
        shell_command: Sequence[str] | str | None = None,
        env: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self._workspace_root = Path(workspace_root) if workspace_root else None
        self._tool_name = tool_name
        self._shell_command = _shell_argv(shell_command)
        self._environment = _environment(env)
        self._execution_policy = execution_policy or HostExecutionPolicy()
        self._redaction_rules: tuple[ResolvedRedactionRule, ...] = tuple(
            rule.resolve() for rule in redaction_rules or ()
        )
        self._startup_commands = _commands(startup_commands)
        self._shutdown_commands = _commands(shutdown_commands)
        schema = _ShellToolInput.model_json_schema()
        schema.pop("title", None)
        schema.pop("description", None)
        base = Tool.from_schema(
            tool_name, tool_description or DEFAULT_TOOL_DESCRIPTION, schema, self._call_tool
        )
        self._shell_tool = base.with_(validator=_validate_input)
        self.tools = [self._shell_tool]

    # -- hooks

    def before_agent(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Start the run's shell session (or keep the one a resumed run already has)."""
        return {"shell_session_resources": self._get_or_create_resources(state)}

    async def abefore_agent(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Async :meth:`before_agent` (the start runs in a worker thread)."""
        return await asyncio.to_thread(self.before_agent, state, runtime)

    def after_agent(self, state: Any, runtime: Any) -> None:
        """Run the shutdown commands, then stop the shell and remove a temporary workspace."""
        resources = state.get("shell_session_resources")
        if not isinstance(resources, _SessionResources):
            return
        try:
            self._run_shutdown_commands(resources.session)
        finally:
            resources.finalizer()

    async def aafter_agent(self, state: Any, runtime: Any) -> None:
        """Async :meth:`after_agent` (in a worker thread)."""
        await asyncio.to_thread(self.after_agent, state, runtime)

    # -- session

    def _get_or_create_resources(self, state: Any) -> _SessionResources:
        """The state's session, or a new one recorded in ``state`` when it is mutable."""
        found = state.get("shell_session_resources") if isinstance(state, Mapping) else None
        if isinstance(found, _SessionResources):
            return found
        resources = self._create_resources()
        if isinstance(state, MutableMapping):
            state["shell_session_resources"] = resources
        return resources

    def _create_resources(self) -> _SessionResources:
        tempdir: tempfile.TemporaryDirectory[str] | None = None
        if self._workspace_root is None:
            tempdir = tempfile.TemporaryDirectory(prefix=SHELL_TEMP_PREFIX)
            workspace = Path(tempdir.name)
        else:
            workspace = self._workspace_root
            workspace.mkdir(parents=True, exist_ok=True)
        policy = self._execution_policy
        session = ShellSession(workspace, policy, self._shell_command, self._environment or {})
        try:
            session.start()
            logger.info("Started shell session in %s", workspace)
            self._run_startup_commands(session)
        except BaseException:
            logger.exception("Starting the shell session failed; cleaning up.")
            session.stop(policy.termination_timeout)
            if tempdir is not None:
                tempdir.cleanup()
            raise
        return _SessionResources(session=session, tempdir=tempdir, policy=policy)

    def _run_startup_commands(self, session: ShellSession) -> None:
        for command in self._startup_commands:
            result = session.execute(command, timeout=self._execution_policy.startup_timeout)
            if result.timed_out or result.exit_code not in (0, None):
                raise RuntimeError(
                    f"Startup command '{command}' failed with exit code {result.exit_code}"
                )

    def _run_shutdown_commands(self, session: ShellSession) -> None:
        for command in self._shutdown_commands:
            try:
                result = session.execute(command, timeout=self._execution_policy.command_timeout)
            except (RuntimeError, OSError) as exc:
                logger.warning("Failed to run shutdown command '%s': %s", command, exc)
                continue
            if result.timed_out:
                logger.warning("Shutdown command '%s' timed out.", command)
            elif result.exit_code not in (0, None):
                logger.warning("Shutdown command '%s' exited with %s.", command, result.exit_code)

    # -- the tool

    def _call_tool(
        self, command: str | None = None, restart: bool = False, *, context: ToolContext
    ) -> Any:
        """The tool's function: run the call in the state's session and answer in the
        conversation's message family."""
        resources = self._get_or_create_resources(context.state or {})
        answer = self._run_shell_tool(
            resources, {"command": command, "restart": restart}, tool_call_id=context.call_id
        )
        return _in_family(answer, context.state) if isinstance(answer, ToolMessage) else answer

    def _run_shell_tool(
        self, resources: _SessionResources, payload: Mapping[str, Any], *, tool_call_id: str | None
    ) -> ToolMessage | str:
        """Run one call: the answer's text alone without ``tool_call_id``, else a hone
        ``ToolMessage`` (``is_error`` for timeouts, blocked output and non-zero exits; the
        details LangChain keeps in ``artifact`` in ``extra["artifact"]``).

        Raises:
            ShellToolError: no command string and no restart, or the restart failed.
        """
        session = resources.session
        if payload.get("restart"):
            logger.info("Restarting shell session on request.")
            try:
                session.restart()
                self._run_startup_commands(session)
            except BaseException as exc:
                logger.exception("Restarting the shell session failed.")
                raise ShellToolError("Failed to restart shell session.") from exc
            return self._answer("Shell session restarted.", tool_call_id, error=False, details={})
        command = payload.get("command")
        if not command or not isinstance(command, str):
            raise ShellToolError(
                "Shell tool expects a 'command' string when restart is not requested."
            )
        logger.info("Executing shell command: %s", command)
        policy = self._execution_policy
        result = session.execute(command, timeout=policy.command_timeout)
        if result.timed_out:
            return self._answer(
                f"Error: Command timed out after {policy.command_timeout:.1f} seconds.",
                tool_call_id,
                error=True,
                details={"timed_out": True, "exit_code": None},
            )
        try:
            text, matches = self._apply_redactions(result.output)
        except PIIDetectionError as blocked:
            logger.warning("Blocking command output: it contains %s.", blocked.pii_type)
            return self._answer(
                f"Output blocked: detected {blocked.pii_type}.",
                tool_call_id,
                error=True,
                details={
                    "timed_out": False,
                    "exit_code": result.exit_code,
                    "matches": {blocked.pii_type: blocked.matches},
                },
            )
        text = _annotated(text or "<no output>", result, policy)
        return self._answer(
            text,
            tool_call_id,
            error=result.exit_code not in (0, None),
            details={
                "timed_out": False,
                "exit_code": result.exit_code,
                "truncated_by_lines": result.truncated_by_lines,
                "truncated_by_bytes": result.truncated_by_bytes,
                "total_lines": result.total_lines,
                "total_bytes": result.total_bytes,
                "redaction_matches": matches,
            },
        )

    def _apply_redactions(self, content: str) -> tuple[str, dict[str, list[PIIMatch]]]:
        found: dict[str, list[PIIMatch]] = {}
        for rule in self._redaction_rules:
            content, matches = rule.apply(content)
            if matches:
                found.setdefault(rule.pii_type, []).extend(matches)
        return content, found

    def _answer(
        self, content: str, tool_call_id: str | None, *, error: bool, details: dict[str, Any]
    ) -> ToolMessage | str:
        if tool_call_id is None:
            return content
        return ToolMessage(
            content=content,
            tool_call_id=tool_call_id,
            name=self._tool_name,
            is_error=error,
            extra={"artifact": details},
        )


def _annotated(text: str, result: CommandExecutionResult, policy: BaseExecutionPolicy) -> str:
    """The output with notes on truncation and a non-zero exit status, as LangChain words
    them."""
    if result.truncated_by_lines:
        text = (
            f"{text.rstrip()}\n\n... Output truncated at {policy.max_output_lines} lines "
            f"(observed {result.total_lines})."
        )
    if result.truncated_by_bytes and policy.max_output_bytes is not None:
        text = (
            f"{text.rstrip()}\n\n... Output truncated at {policy.max_output_bytes} bytes "
            f"(observed {result.total_bytes})."
        )
    if result.exit_code not in (0, None):
        text = f"{text.rstrip()}\n\nExit code: {result.exit_code}"
    return text


def _in_family(message: ToolMessage, state: Any) -> Any:
    """``message`` as LangChain's ``ToolMessage`` (``status`` and ``artifact``) when the
    conversation in ``state`` is LangChain's; else a command adding it as it is (a returned
    hone message would be re-made from its text, losing its name and error flag)."""
    messages = state.get("messages") if isinstance(state, Mapping) else None
    if not messages or not is_langchain_message(messages[-1]):
        return Command(update={"messages": [message]})
    from langchain_core.messages import ToolMessage as LangChainToolMessage

    return LangChainToolMessage(
        content=message.text,
        tool_call_id=message.tool_call_id,
        name=message.name,
        status="error" if message.is_error else "success",
        artifact=(message.extra or {}).get("artifact", {}),
    )
