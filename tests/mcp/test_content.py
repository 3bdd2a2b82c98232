"""Tool-result content both ways, and the names and schema checks of MCP tools."""

from __future__ import annotations

import base64

import mcp.types as mt
import pytest

from hone.mcp import MCPToolSchemaError
from hone.mcp._content import from_mcp_result, structured_value, to_mcp_content
from hone.mcp._tools import check_input_schema, hone_tool_name
from hone.messages import ImagePart, ImageUrl, TextPart

PNG = base64.b64encode(b"\x89PNG....").decode()


def test_text_blocks_join_into_one_string() -> None:
    result = mt.CallToolResult(content=[mt.TextContent(text="a"), mt.TextContent(text="b")])
    assert from_mcp_result(result) == "a\nb"


def test_images_become_image_parts_and_the_rest_a_note() -> None:
    result = mt.CallToolResult(
        content=[
            mt.TextContent(text="see"),
            mt.ImageContent(data=PNG, mime_type="image/png"),
            mt.AudioContent(data=base64.b64encode(b"abc").decode(), mime_type="audio/wav"),
            mt.EmbeddedResource(
                resource=mt.TextResourceContents(uri="file:///a.txt", text="inside")
            ),
            mt.EmbeddedResource(
                resource=mt.BlobResourceContents(uri="file:///b.bin", blob=PNG, mime_type=None)
            ),
            mt.ResourceLink(name="doc", uri="https://x/doc", description="the doc"),
        ]
    )
    assert from_mcp_result(result) == [
        TextPart(text="see"),
        ImagePart(image_url=ImageUrl(url=f"data:image/png;base64,{PNG}")),
        TextPart(text="[audio (audio/wav, 3 bytes) not shown]"),
        TextPart(text="inside"),
        TextPart(
            text="[binary resource file:///b.bin (application/octet-stream, 8 bytes) not shown]"
        ),
        TextPart(text="[resource doc at https://x/doc: the doc]"),
    ]


def test_structured_content_shows_when_there_is_no_content() -> None:
    assert from_mcp_result(mt.CallToolResult(content=[], structured_content={"a": 1})) == '{"a":1}'
    assert from_mcp_result(mt.CallToolResult(content=[])) == ""


def test_hone_content_to_mcp_and_back() -> None:
    parts: list[TextPart | ImagePart] = [
        TextPart(text="x"),
        ImagePart(image_url=ImageUrl(url=f"data:image/png;base64,{PNG}")),
    ]
    blocks = to_mcp_content(parts)
    assert blocks == [mt.TextContent(text="x"), mt.ImageContent(data=PNG, mime_type="image/png")]
    assert from_mcp_result(mt.CallToolResult(content=blocks)) == parts
    assert to_mcp_content("plain") == [mt.TextContent(text="plain")]


def test_structured_values_are_json_objects_only() -> None:
    assert structured_value({"a": (1, 2)}) == {"a": [1, 2]}
    assert structured_value([1, 2]) is None
    assert structured_value("s") is None
    assert structured_value(TextPart(text="t")) == {"type": "text", "text": "t"}


def test_names_follow_the_function_calling_rule() -> None:
    assert hone_tool_name("git__", "log.show") == "git__log_show"
    assert hone_tool_name("", "a b/c") == "a_b_c"
    long = hone_tool_name("server__", "x" * 120)
    assert len(long) == 64 and long.startswith("server__xxx")
    assert long != hone_tool_name("server__", "x" * 121)


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"type": "array"}, "root is not"),
        ({"type": "object", "properties": {"n": {"minimum": "zero"}}}, "properties/n/minimum"),
        ({"type": "object", "required": ["q"]}, "requires ['q']"),
    ],
)
def test_schema_checks_name_the_tool(schema: dict[str, object], problem: str) -> None:
    tool = mt.Tool(name="t", input_schema=schema)
    with pytest.raises(MCPToolSchemaError) as info:
        check_input_schema("srv", tool)
    assert (info.value.server, info.value.tool) == ("srv", "t")
    assert problem in str(info.value)


def test_valid_schemas_pass_through_unchanged() -> None:
    schema = {
        "type": "object",
        "$defs": {"P": {"type": "string"}},
        "properties": {"p": {"$ref": "#/$defs/P"}},
        "required": ["p"],
        "x-vendor": True,
    }
    assert check_input_schema("s", mt.Tool(name="t", input_schema=schema)) == schema
