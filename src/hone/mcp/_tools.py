"""An MCP server's tool as a hone :class:`~hone.tools.Tool`.

The tool's JSON schema is the server's ``inputSchema``, passed through unchanged (checked
once: an object schema that is valid JSON Schema), so hone validates the model's arguments
against exactly what the server declared before anything is sent. The call goes to the
server's session; a result the server marks ``isError`` comes back as an error
``ToolMessage`` with the server's own words, and a crash or a refusal raises an
:class:`~hone.mcp.MCPServerError`, which the executor turns into an error result too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import jsonschema
import mcp.types as mt
from jsonschema.validators import validator_for

from hone.errors import MCPToolSchemaError, ToolDefinitionError
from hone.mcp._config import ServerConfig
from hone.mcp._content import from_mcp_result
from hone.messages import ContentPart, ToolMessage
from hone.tools import Tool, ToolContext

__all__ = ["CallMCPTool", "check_input_schema", "hone_tool_name", "to_hone_tool"]

#: Calls one tool on the server: (name on the server, arguments) -> the server's result.
CallMCPTool = Callable[[str, Mapping[str, Any]], Awaitable[mt.CallToolResult | str]]

_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_-]")
_MAX_NAME = 64


def hone_tool_name(prefix: str, name: str) -> str:
    """The name the model calls an MCP tool by: the prefix and the server's name, with what
    the OpenAI name rule does not allow (``.``, spaces, ...) made ``_``, and a name longer
    than 64 characters cut and ended with a hash of the whole, so it stays unique."""
    full = prefix + _NOT_ALLOWED.sub("_", name)
    if len(full) <= _MAX_NAME:
        return full
    digest = hashlib.sha256((prefix + name).encode()).hexdigest()[:8]
    return f"{full[: _MAX_NAME - 9]}_{digest}"


def check_input_schema(server: str, tool: mt.Tool) -> dict[str, Any]:
    """The tool's input schema, once it is known to be usable.

    Raises:
        MCPToolSchemaError: not an object schema, not valid JSON Schema, or requiring a
            property it does not declare.
    """
    schema = tool.input_schema
    if schema.get("type") != "object":
        raise MCPToolSchemaError(
            server,
            tool.name,
            f'has an input schema whose root is not {{"type": "object"}} '
            f"(got type {schema.get('type')!r})",
        )
    try:
        validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise MCPToolSchemaError(
            server,
            tool.name,
            f"has an input schema that is not valid JSON Schema at {where}: {exc.message}",
        ) from exc
    properties = schema.get("properties", {})
    missing = [n for n in schema.get("required", ()) if n not in properties]
    if missing and not any(k in schema for k in ("allOf", "anyOf", "oneOf", "$ref")):
        raise MCPToolSchemaError(
            server, tool.name, f"requires {missing} but its input schema declares no such property"
        )
    return dict(schema)


def _description(server: str, tool: mt.Tool) -> str:
    if tool.description and tool.description.strip():
        return tool.description
    title = tool.title or (tool.annotations.title if tool.annotations else None)
    return title or f"The {tool.name} tool of MCP server {server}."


def _error(server: str, name: str, content: str | list[ContentPart], call_id: str) -> ToolMessage:
    if not content:
        content = f"Error: MCP tool {name!r} on server {server!r} failed without saying why."
    return ToolMessage(content=content, tool_call_id=call_id, is_error=True)


def to_hone_tool(server: str, config: ServerConfig, tool: mt.Tool, call: CallMCPTool) -> Tool:
    """A hone tool that runs MCP tool ``tool`` of server ``server`` through ``call``.

    ``call`` may answer with a string instead of a result: the tool is gone from the server,
    and the string says so (the model sees it as an error).

    Raises:
        MCPToolSchemaError: the tool's name or schema cannot be used.
    """
    parameters = check_input_schema(server, tool)
    name = hone_tool_name(config.tool_prefix(server), tool.name)
    mcp_name = tool.name

    async def call_mcp_tool(hone_tool_context: ToolContext, **arguments: Any) -> Any:
        result = await call(mcp_name, arguments)
        call_id = hone_tool_context.call_id
        if isinstance(result, str):
            return ToolMessage(content=f"Error: {result}", tool_call_id=call_id, is_error=True)
        content = from_mcp_result(result)
        if result.is_error:
            return _error(server, mcp_name, content, call_id)
        if not result.content and isinstance(result.structured_content, dict):
            return result.structured_content  # the data itself; the model sees it as JSON
        return content

    call_mcp_tool.__name__ = name
    try:
        return Tool.from_schema(
            name=name,
            description=_description(server, tool),
            parameters=parameters,
            fn=call_mcp_tool,
            timeout=config.timeout,
        )
    except ToolDefinitionError as exc:
        raise MCPToolSchemaError(server, tool.name, f"cannot become a hone tool: {exc}") from exc
