"""Where an MCP server is and how hone talks to it: the transports and the per-server options.

A server is one of three things: a command hone starts and speaks to over its stdin and
stdout (:class:`StdioServer`), a streamable-HTTP endpoint (:class:`HTTPServer`), or an
in-process server object of the official SDK (``mcp.server.Server`` or
``mcp.server.mcpserver.MCPServer``, good for tests). :class:`ServerConfig` adds what hone
needs per server: the tool-name prefix, the time limits and the protocol negotiation.

LangChain's ``MultiServerMCPClient`` dicts are read too (``{"transport": "stdio",
"command": ..., "args": [...]}``, ``{"transport": "streamable_http", "url": ...}``), with
hone's options as extra keys, so a configuration written for one works in the other.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from mcp.server import Server
from mcp.server.mcpserver import MCPServer

from hone.errors import ConfigError

__all__ = [
    "HTTPServer",
    "Protocol",
    "ServerConfig",
    "ServerLike",
    "StdioServer",
    "server_config",
]

#: How the protocol version is agreed: ``"auto"`` (the SDK's default: ask the server with
#: ``server/discover``, fall back to the ``initialize`` handshake) or ``"legacy"`` (always
#: the handshake, for servers that mishandle discovery).
Protocol: TypeAlias = Literal["auto", "legacy"]

# Server names become tool-name prefixes, so they follow the tool-name rule.
_SERVER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,48}$")
_STDIO_KEYS = frozenset({"command", "args", "env", "cwd"})
_HTTP_KEYS = frozenset({"url", "headers"})
_OPTION_KEYS = frozenset({"prefix", "timeout", "connect_timeout", "protocol"})
_HTTP_NAMES = ("streamable_http", "streamable-http", "http")


@dataclass(frozen=True, slots=True)
class StdioServer:
    """A server hone starts as a subprocess and speaks to over its stdin and stdout.

    ``StdioServer("python", ["math_server.py"])``. The process gets the SDK's safe subset of
    the environment (``HOME``, ``PATH``, ...) with ``env`` laid over it; its stderr is
    hone's (the process's original stderr where ``sys.stderr`` was replaced by an object
    without a file descriptor, as in a notebook). It is stopped when the client closes and
    started again after a crash.
    """

    #: The executable (looked up on ``PATH``).
    command: str
    #: Its arguments.
    args: Sequence[str] = ()
    #: Extra environment variables for the process.
    env: Mapping[str, str] | None = None
    #: The working directory of the process (default: the current one).
    cwd: str | os.PathLike[str] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.command, str) or not self.command.strip():
            raise ConfigError(f"StdioServer needs a command to run, got {self.command!r}")
        if isinstance(self.args, str) or not all(isinstance(a, str) for a in self.args):
            raise ConfigError(
                f"StdioServer args must be a list of strings, got {self.args!r} "
                '(write args=["server.py", "--flag"])'
            )
        object.__setattr__(self, "args", tuple(self.args))

    def describe(self) -> str:
        """The command line, for messages."""
        return " ".join([self.command, *self.args])


@dataclass(frozen=True, slots=True)
class HTTPServer:
    """A server at a streamable-HTTP endpoint: ``HTTPServer("http://localhost:8000/mcp")``."""

    #: The endpoint URL (``http://`` or ``https://``; ``hone mcp serve --http`` serves ``/mcp``).
    url: str
    #: Headers sent with every request (an ``Authorization`` header, for example).
    headers: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url.startswith(("http://", "https://")):
            raise ConfigError(f"HTTPServer needs an http:// or https:// URL, got {self.url!r}")

    def describe(self) -> str:
        """The URL, for messages."""
        return self.url


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """One server and hone's options for it.

    ``ServerConfig(StdioServer("python", ["server.py"]), prefix="", timeout=30)``.
    """

    #: Where the server is: a :class:`StdioServer`, an :class:`HTTPServer`, or an SDK
    #: server object to run in-process.
    server: StdioServer | HTTPServer | Server[Any] | MCPServer[Any]
    #: Put before each tool name the model sees; None: the server's name and ``__``
    #: (``math__add``). ``""`` keeps the server's own names.
    prefix: str | None = None
    #: Seconds one tool call may take (the tools' ``timeout``); a call that runs longer is
    #: cancelled on the server and the model sees a timeout error. None: no limit.
    timeout: float | None = None
    #: Seconds to start or reach the server, and to list its tools.
    connect_timeout: float = 30.0
    #: How the protocol version is agreed (see :data:`Protocol`).
    protocol: Protocol = "auto"

    def __post_init__(self) -> None:
        if not isinstance(self.server, StdioServer | HTTPServer | Server | MCPServer):
            raise ConfigError(
                "an MCP server is a StdioServer, an HTTPServer, or an SDK Server / MCPServer "
                f"object, got {type(self.server).__name__}"
            )
        if self.prefix is not None and not re.fullmatch(r"[A-Za-z0-9_-]*", self.prefix):
            raise ConfigError(
                f"MCP tool prefix {self.prefix!r} may use only letters, digits, '_' and '-'"
            )
        for label, value in (("timeout", self.timeout), ("connect_timeout", self.connect_timeout)):
            if value is not None and (not math.isfinite(value) or value <= 0):
                raise ConfigError(f"ServerConfig.{label} must be > 0 seconds, got {value!r}")
        if self.protocol not in ("auto", "legacy"):
            raise ConfigError(
                f"ServerConfig.protocol must be 'auto' or 'legacy', got {self.protocol!r}"
            )

    def describe(self) -> str:
        """What the server is, for messages: its command line, URL, or ``in-process``."""
        if isinstance(self.server, StdioServer | HTTPServer):
            return self.server.describe()
        return f"in-process {type(self.server).__name__}"

    def tool_prefix(self, name: str) -> str:
        """The prefix of this server's tools when the client calls it ``name``."""
        return f"{name}__" if self.prefix is None else self.prefix


#: What a client accepts for one server: a config, a transport, an SDK server object, or a
#: LangChain-style dict.
ServerLike: TypeAlias = (
    "ServerConfig | StdioServer | HTTPServer | Server[Any] | MCPServer[Any] | Mapping[str, Any]"
)


def _from_dict(name: str, spec: Mapping[str, Any]) -> ServerConfig:
    transport = spec.get("transport")
    if transport is None:
        transport = "stdio" if "command" in spec else "streamable_http" if "url" in spec else None
    if transport == "stdio":
        allowed = _STDIO_KEYS
    elif transport in _HTTP_NAMES:
        allowed = _HTTP_KEYS
    else:
        raise ConfigError(
            f"MCP server {name!r}: transport {transport!r} is not supported; use 'stdio' "
            "(with 'command' and 'args') or 'streamable_http' (with 'url')"
        )
    unknown = set(spec) - allowed - _OPTION_KEYS - {"transport"}
    if unknown:
        keys = ", ".join(sorted(allowed | _OPTION_KEYS))
        raise ConfigError(
            f"MCP server {name!r}: unknown keys {sorted(unknown)} for transport "
            f"{transport!r}; the keys are transport, {keys}"
        )
    try:
        server: StdioServer | HTTPServer = (
            StdioServer(**{k: spec[k] for k in _STDIO_KEYS if k in spec})
            if transport == "stdio"
            else HTTPServer(**{k: spec[k] for k in _HTTP_KEYS if k in spec})
        )
        return ServerConfig(server, **{k: spec[k] for k in _OPTION_KEYS if k in spec})
    except TypeError as exc:  # a required key is missing
        raise ConfigError(f"MCP server {name!r}: {exc}") from exc
    except ConfigError as exc:
        raise ConfigError(f"MCP server {name!r}: {exc}") from exc


def server_config(name: str, value: ServerLike) -> ServerConfig:
    """The :class:`ServerConfig` of anything a client accepts for server ``name``.

    Raises:
        ConfigError: a name that cannot prefix tool names, or a value that is no server (the
            message says what is accepted).
    """
    if not isinstance(name, str) or not _SERVER_NAME.match(name):
        raise ConfigError(
            f"MCP server name {name!r} is not allowed; use 1-48 letters, digits, '_' or '-' "
            "(it prefixes the server's tool names)"
        )
    if isinstance(value, ServerConfig):
        return value
    if isinstance(value, Mapping):
        return _from_dict(name, value)
    if isinstance(value, StdioServer | HTTPServer | Server | MCPServer):
        return ServerConfig(value)
    raise ConfigError(
        f"MCP server {name!r}: expected a StdioServer, an HTTPServer, a ServerConfig, an SDK "
        f"Server / MCPServer object or a dict, got {type(value).__name__}"
    )
