"""The public surface of hone.parsing, and the parser registry."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

import hone.parsing
from hone.errors import ConfigError
from hone.models.tiny import CHAT_TEMPLATE
from hone.parsing import (
    ParsedOutput,
    Parser,
    detect_parser,
    get_parser,
    parse_hermes,
    parse_qwen3_coder,
    parser_names,
    resolve_parser,
)
from hone.parsing._calls import INTERNAL_ERROR, never_raises


def test_all_is_exactly_the_public_surface() -> None:
    assert hone.parsing.__all__ == sorted(hone.parsing.__all__)
    public = {n for n in vars(hone.parsing) if not n.startswith("_")}
    assert public == set(hone.parsing.__all__)


@pytest.mark.parametrize("name", parser_names())
def test_get_parser_returns_a_parser(name: Any) -> None:
    parser: Parser = get_parser(name)
    assert isinstance(parser("hello"), ParsedOutput)
    assert resolve_parser(name) == (name, parser)


def test_the_registry_names_every_text_format() -> None:
    assert parser_names() == (
        "hermes",
        "json_action",
        "llama3_json",
        "mistral",
        "qwen3_coder",
        "react",
        "structured_chat",
    )
    assert get_parser("hermes") is parse_hermes
    assert get_parser("qwen3_coder") is parse_qwen3_coder


def test_unknown_format_is_a_config_error_naming_the_choices() -> None:
    with pytest.raises(ConfigError, match="'hermes', 'json_action', 'llama3_json', 'mistral'"):
        get_parser("xml")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown parse format 'xml'"):
        resolve_parser("xml")  # type: ignore[arg-type]


def test_resolve_parser_names_a_builtin_function_by_its_registered_name() -> None:
    assert resolve_parser(parse_qwen3_coder) == ("qwen3_coder", parse_qwen3_coder)


def test_resolve_parser_accepts_a_function_with_the_parser_signature() -> None:
    def upper(
        text: str, *, tools: Sequence[Mapping[str, Any]] = (), truncated: bool = False
    ) -> ParsedOutput:
        return ParsedOutput(content=text.upper(), truncated=truncated)

    name, parser = resolve_parser(upper)
    assert name == "upper" and parser("a", truncated=True) == ParsedOutput("A", truncated=True)
    assert resolve_parser(lambda text, **_: ParsedOutput(text))[0] == "<lambda>"


def test_resolve_parser_refuses_a_function_without_the_keywords() -> None:
    def text_only(text: str) -> ParsedOutput:
        return ParsedOutput(text)

    with pytest.raises(ConfigError, match=r"'text_only' must accept \(text, \*, tools=\(\)"):
        resolve_parser(text_only)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="parser name or a function, got int"):
        resolve_parser(3)  # type: ignore[arg-type]


def _template(tool_call_rendering: str) -> str:
    return (
        "{%- for message in messages -%}{{- '<|im_start|>' + message.role + '\\n' -}}"
        "{%- if message.tool_calls -%}" + tool_call_rendering + "{%- endif -%}"
        "{{- message.content + '<|im_end|>\\n' -}}{%- endfor -%}"
    )


@pytest.mark.parametrize(
    ("template", "name"),
    [
        (_template("{{- '<tool_call>\\n' + (call | tojson) + '\\n</tool_call>' -}}"), "hermes"),
        (
            _template(
                "{{- '<tool_call>\\n<function=' + call.name + '>\\n' -}}"
                "{{- '<parameter=x>\\n1\\n</parameter>\\n</function>\\n</tool_call>' -}}"
            ),
            "qwen3_coder",
        ),
        (_template("{{- '[TOOL_CALLS]' + (message.tool_calls | tojson) -}}"), "mistral"),
        (_template("{{- '<|python_tag|>' + (call | tojson) + '<|eom_id|>' -}}"), "llama3_json"),
        (_template(""), "hermes"),
        (None, "hermes"),
        ({"default": _template(""), "tool_use": _template("{{- '<function=' -}}")}, "qwen3_coder"),
    ],
)
def test_detect_parser_reads_the_chat_template(template: Any, name: str) -> None:
    assert detect_parser(template) == name


def test_the_tiny_models_template_is_hermes() -> None:
    assert detect_parser(CHAT_TEMPLATE) == "hermes"


def test_never_raises_turns_a_bug_into_a_logged_error_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @never_raises
    def broken(text: str) -> ParsedOutput:
        raise KeyError(text)

    with caplog.at_level(logging.ERROR, logger="hone.parsing._calls"):
        out = broken("raw")
    assert out == ParsedOutput(content="raw", errors=(INTERNAL_ERROR,))
    assert "broken" in caplog.text
