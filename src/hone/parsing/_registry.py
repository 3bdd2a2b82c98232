"""The parser interface, parsers by name, and the parser a chat template implies."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, Literal, Protocol, TypeAlias, get_args

from hone.errors import ConfigError
from hone.parsing._calls import ToolSchemas
from hone.parsing._hermes import parse_hermes
from hone.parsing._json_action import parse_json_action
from hone.parsing._llama import parse_llama3_json
from hone.parsing._mistral import parse_mistral
from hone.parsing._qwen3_coder import parse_qwen3_coder
from hone.parsing._react import parse_react
from hone.parsing._structured_chat import parse_structured_chat
from hone.parsing._types import ParsedOutput

__all__ = [
    "ParseFormat",
    "Parser",
    "detect_parser",
    "get_parser",
    "parser_names",
    "resolve_parser",
]

ParseFormat: TypeAlias = Literal[
    "hermes", "json_action", "llama3_json", "mistral", "qwen3_coder", "react", "structured_chat"
]
"""The output formats hone can parse from text (the tool formats use vLLM's parser names)."""


class Parser(Protocol):
    """Turns a model's raw text into a :class:`ParsedOutput`; must never raise.

    ``tools`` are the tool schemas offered to the model (OpenAI's shape), for formats whose
    values are typed by them; ``truncated`` says the text was cut off at the token limit.
    """

    def __call__(
        self, text: str, /, *, tools: ToolSchemas = (), truncated: bool = False
    ) -> ParsedOutput:
        """Parse ``text``."""
        ...


_PARSERS: dict[str, Parser] = {
    "hermes": parse_hermes,
    "json_action": parse_json_action,
    "llama3_json": parse_llama3_json,
    "mistral": parse_mistral,
    "qwen3_coder": parse_qwen3_coder,
    "react": parse_react,
    "structured_chat": parse_structured_chat,
}

#: Markers a chat template renders for its tool-call format, tested in this order (the
#: Qwen3-Coder template also renders ``<tool_call>``, so its ``<function=`` comes first).
_TEMPLATE_MARKERS: tuple[tuple[str, ParseFormat], ...] = (
    ("<function=", "qwen3_coder"),
    ("[TOOL_CALLS]", "mistral"),
    ("<|python_tag|>", "llama3_json"),
    ('"parameters": dictionary of argument name', "llama3_json"),
    ("<tool_call>", "hermes"),
)


def parser_names() -> tuple[ParseFormat, ...]:
    """Every registered parser name, for command-line choices and error messages."""
    return get_args(ParseFormat)


def get_parser(name: ParseFormat) -> Parser:
    """The parser for an output format.

    Raises:
        ConfigError: ``name`` is not one of :func:`parser_names`.
    """
    parser = _PARSERS.get(name) if isinstance(name, str) else None
    if parser is None:
        choices = ", ".join(repr(n) for n in parser_names())
        raise ConfigError(f"unknown parse format {name!r}; choose one of {choices}")
    return parser


def resolve_parser(parser: ParseFormat | Parser) -> tuple[str, Parser]:
    """``(name, parser)`` for a registered name or a parser function.

    A function's name is its ``__name__`` (the registered name when it is a built-in
    parser). It must accept ``(text, *, tools=..., truncated=...)``, the :class:`Parser`
    signature.

    Raises:
        ConfigError: an unknown name, or a callable that does not take those arguments.
    """
    if isinstance(parser, str):
        return parser, get_parser(parser)
    if not callable(parser):
        raise ConfigError(
            f"parser must be a parser name or a function, got {type(parser).__name__}"
        )
    for name, known in _PARSERS.items():
        if parser is known:
            return name, known
    name = str(getattr(parser, "__name__", type(parser).__name__))
    _check_signature(name, parser)
    return name, parser


def detect_parser(chat_template: str | Mapping[str, Any] | None) -> ParseFormat:
    """The tool-call parser a chat template implies; ``"hermes"`` when it names none.

    ``chat_template`` is a tokenizer's ``chat_template``: a Jinja string or a mapping of
    named templates (all are searched).
    """
    if isinstance(chat_template, Mapping):
        text = "\n".join(str(t) for t in chat_template.values())
    else:
        text = chat_template or ""
    for marker, name in _TEMPLATE_MARKERS:
        if marker in text:
            return name
    return "hermes"


def _check_signature(name: str, parser: Any) -> None:
    try:
        signature = inspect.signature(parser)
    except (TypeError, ValueError):
        return  # a builtin or extension callable: trust it
    try:
        signature.bind("text", tools=(), truncated=False)
    except TypeError as exc:
        raise ConfigError(
            f"parser {name!r} must accept (text, *, tools=(), truncated=False) and return a "
            f"ParsedOutput; its signature is {name}{signature} ({exc})"
        ) from exc
