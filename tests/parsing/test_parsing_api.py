"""The public surface of hone.parsing, and the parser registry."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import hone.parsing
from hone.errors import ConfigError
from hone.parsing import ParsedOutput, Parser, get_parser, parse_hermes
from hone.parsing._calls import INTERNAL_ERROR, never_raises


def test_all_is_exactly_the_public_surface() -> None:
    assert hone.parsing.__all__ == sorted(hone.parsing.__all__)
    public = {n for n in vars(hone.parsing) if not n.startswith("_")}
    assert public == set(hone.parsing.__all__)


@pytest.mark.parametrize("name", ["hermes", "json_action", "react"])
def test_get_parser_returns_a_parser(name: Any) -> None:
    parser: Parser = get_parser(name)
    assert isinstance(parser("hello"), ParsedOutput)


def test_get_parser_hermes_is_parse_hermes() -> None:
    assert get_parser("hermes") is parse_hermes


def test_unknown_format_is_a_config_error_naming_the_choices() -> None:
    with pytest.raises(ConfigError, match="'hermes', 'json_action', 'react'"):
        get_parser("xml")  # type: ignore[arg-type]


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
