"""The parser interface, and parsers by name."""

from __future__ import annotations

from typing import Literal, Protocol, TypeAlias, get_args

from hone.errors import ConfigError
from hone.parsing._hermes import parse_hermes
from hone.parsing._json_action import parse_json_action
from hone.parsing._react import parse_react
from hone.parsing._types import ParsedOutput

__all__ = ["ParseFormat", "Parser", "get_parser"]

ParseFormat: TypeAlias = Literal["hermes", "json_action", "react"]
"""The output formats hone can parse from text."""


class Parser(Protocol):
    """Turns a model's raw text into a :class:`ParsedOutput`; must never raise."""

    def __call__(self, text: str, /) -> ParsedOutput:
        """Parse ``text``."""
        ...


_PARSERS: dict[str, Parser] = {
    "hermes": parse_hermes,
    "json_action": parse_json_action,
    "react": parse_react,
}


def get_parser(name: ParseFormat) -> Parser:
    """The parser for an output format.

    Raises:
        ConfigError: ``name`` is not one of ``"hermes"``, ``"json_action"``, ``"react"``.
    """
    parser = _PARSERS.get(name)
    if parser is None:
        choices = ", ".join(repr(n) for n in get_args(ParseFormat))
        raise ConfigError(f"unknown parse format {name!r}; choose one of {choices}")
    return parser
