"""Field paths of an index config: which texts of a stored value get embedded.

The syntax is LangGraph's: ``"$"`` is the whole value (as JSON), ``"a.b"`` a nested field,
``"arr[0]"`` / ``"arr[-1]"`` one item, ``"arr[*]"`` every item (each embedded on its own),
``"*"`` every value of a dict, ``"{a,b.c}"`` several fields. A string, number or boolean
becomes its text, a list or dict its JSON (keys sorted); missing fields and nulls give
nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hone.errors import ConfigError

__all__ = ["FieldPath", "texts_at"]


def _tokens(path: str) -> tuple[str, ...]:
    """``"a.b[*].c{x,y}"`` -> ``("a", "b", "[*]", "c", "{x,y}")``."""
    tokens: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(path):
        char = path[i]
        if char in "[{":
            close = "]" if char == "[" else "}"
            end = path.find(close, i)
            if end < 0:
                raise ConfigError(f"index path {path!r}: {char!r} at {i} is never closed")
            if current:
                tokens.append("".join(current))
                current = []
            tokens.append(path[i : end + 1])
            i = end + 1
            continue
        if char == ".":
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(char)
        i += 1
    if current:
        tokens.append("".join(current))
    for token in tokens:
        if token.startswith("[") and token != "[*]":
            try:
                int(token[1:-1])
            except ValueError:
                raise ConfigError(
                    f"index path {path!r}: {token} is not [*] or an integer index"
                ) from None
    if not tokens:
        raise ConfigError(f"index path {path!r} names no field")
    return tuple(tokens)


@dataclass(frozen=True, slots=True)
class FieldPath:
    """A parsed index path (``"$"`` for the whole value).

    Raises:
        ConfigError: a path that does not parse (an unclosed bracket, a bad index).
    """

    text: str
    tokens: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> FieldPath:
        """Parse ``text``."""
        if not isinstance(text, str) or not text:
            raise ConfigError(f"index paths are non-empty strings, got {text!r}")
        return cls(text, ("$",) if text == "$" else _tokens(text))


def _text(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, bool | int | float):
        return [str(value)]
    if isinstance(value, list | dict):
        return [json.dumps(value, sort_keys=True, ensure_ascii=False)]
    return []


def _walk(value: Any, tokens: tuple[str, ...], pos: int) -> list[str]:
    if pos == len(tokens):
        return _text(value)
    token = tokens[pos]
    if token.startswith("["):
        if not isinstance(value, list):
            return []
        if token == "[*]":
            return [t for item in value for t in _walk(item, tokens, pos + 1)]
        index = int(token[1:-1])
        if -len(value) <= index < len(value):
            return _walk(value[index], tokens, pos + 1)
        return []
    if token.startswith("{"):
        if not isinstance(value, dict):
            return []
        out: list[str] = []
        for name in token[1:-1].split(","):
            if name.strip():
                out.extend(_walk(value, _tokens(name.strip()), 0))
        return out
    if token == "*":
        items = value.values() if isinstance(value, dict) else value
        if not isinstance(value, dict | list):
            return []
        return [t for item in items for t in _walk(item, tokens, pos + 1)]
    if isinstance(value, dict) and token in value:
        return _walk(value[token], tokens, pos + 1)
    return []


def texts_at(value: Mapping[str, Any], path: FieldPath) -> list[tuple[str, str]]:
    """The texts ``path`` selects in ``value``, each with its field name: the path itself,
    or ``path.i`` when the path selects several texts (as LangGraph names them)."""
    if path.tokens == ("$",):
        return [("$", json.dumps(dict(value), sort_keys=True, ensure_ascii=False))]
    texts = _walk(dict(value), path.tokens, 0)
    if len(texts) == 1:
        return [(path.text, texts[0])]
    return [(f"{path.text}.{i}", text) for i, text in enumerate(texts)]
