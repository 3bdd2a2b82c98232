"""Server configurations: typed, or LangChain ``MultiServerMCPClient`` dicts; bad ones
are ``ConfigError``s that say what is accepted."""

from __future__ import annotations

import pytest

from hone.errors import ConfigError
from hone.mcp import HTTPServer, ServerConfig, StdioServer
from hone.mcp._config import server_config


def test_langchain_style_dicts_become_configs() -> None:
    stdio = server_config(
        "math",
        {
            "transport": "stdio",
            "command": "python",
            "args": ["m.py"],
            "env": {"A": "1"},
            "timeout": 5,
        },
    )
    assert stdio == ServerConfig(StdioServer("python", ("m.py",), env={"A": "1"}), timeout=5)
    http = server_config(
        "web", {"transport": "streamable_http", "url": "http://h:1/mcp", "headers": {"X": "y"}}
    )
    assert http.server == HTTPServer("http://h:1/mcp", headers={"X": "y"})
    assert server_config("short", {"url": "https://h/mcp", "prefix": ""}).tool_prefix("short") == ""
    assert server_config("guess", {"command": "node", "args": []}).tool_prefix("guess") == "guess__"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"transport": "sse", "url": "http://h"}, "transport 'sse' is not supported"),
        ({"transport": "stdio", "command": "x", "url": "u"}, r"unknown keys \['url'\]"),
        ({"transport": "stdio"}, "missing 1 required positional argument: 'command'"),
        ({"command": "x", "args": "a b"}, "args must be a list of strings"),
        ({"url": "ftp://h"}, "needs an http:// or https:// URL"),
        ({"url": "http://h", "timeout": 0}, "timeout must be > 0"),
        ({"url": "http://h", "prefix": "a.b"}, "may use only letters"),
        ({"url": "http://h", "protocol": "2024"}, "protocol must be 'auto' or 'legacy'"),
    ],
)
def test_bad_dicts_say_what_is_wrong(value: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=f"MCP server 's': .*{message}"):
        server_config("s", value)


def test_names_and_descriptions() -> None:
    with pytest.raises(ConfigError, match="1-48 letters"):
        server_config("has space", StdioServer("x"))
    with pytest.raises(ConfigError, match="needs a command"):
        StdioServer("  ")
    assert ServerConfig(StdioServer("python", ["-m", "srv"])).describe() == "python -m srv"
    assert ServerConfig(HTTPServer("http://h/mcp")).describe() == "http://h/mcp"
    with pytest.raises(ConfigError, match="is a StdioServer, an HTTPServer"):
        ServerConfig("python server.py")  # type: ignore[arg-type]


def test_the_errors_belong_to_the_one_tree() -> None:
    import pickle

    import hone.errors
    import hone.mcp

    for name in ("MCPServerError", "MCPConnectionError", "MCPProtocolError"):
        cls = getattr(hone.mcp, name)
        assert cls is getattr(hone.errors, name) and issubclass(cls, hone.errors.HoneError)
        error = cls("math", "it failed")
        again = pickle.loads(pickle.dumps(error))
        assert (type(again), again.server, str(again)) == (cls, "math", "it failed")
    schema = hone.mcp.MCPToolSchemaError("math", "add", "has no schema")
    assert isinstance(schema, hone.errors.MCPServerError)
    assert str(schema) == "MCP server 'math': tool 'add' has no schema"
    again = pickle.loads(pickle.dumps(schema))
    assert (again.server, again.tool, again.problem) == ("math", "add", "has no schema")
