"""Lenient JSON: read the JSON a model meant, when its intent is unambiguous.

Models get JSON slightly wrong in a handful of recurring ways: they wrap it in a code fence,
put prose around it, leave a trailing comma, quote with ``'`` or typographic quotes, write
Python's ``True``/``False``/``None``, leave keys unquoted, or stop before the last closing
brace. :func:`lenient_json` tries strict :func:`json.loads` first and then a small tolerant
parser that accepts exactly those mistakes, and nothing that would need a guess.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["find_json_values", "json_span_finder", "lenient_json", "text_after_json"]

#: Nesting deeper than this is refused (strict json would hit Python's recursion limit).
_MAX_DEPTH = 200
#: How many opening brackets in prose are tried as the start of the JSON value.
_MAX_STARTS = 32

# A fence closes at a line start or a line end: "```" inside a JSON string is neither.
_FENCE = re.compile(
    r"```[ \t]*[A-Za-z0-9_+-]*[ \t]*\r?\n?(.*?)(?:^[ \t]*```|```[ \t]*$|\Z)",
    re.DOTALL | re.MULTILINE,
)
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_BAREWORD = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")
_LITERALS: dict[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    "True": True,
    "False": False,
    "None": None,
    "NaN": float("nan"),
    "Infinity": float("inf"),
}
#: Opening quote -> the quotes that may close it (models mix the typographic pairs).
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d\u201c", "\u2018": "\u2019\u2018"}
_WHITESPACE = " \t\r\n\ufeff\u00a0"


class _Fail(Exception):
    """Internal: the tolerant parser gives up (never leaves this module)."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


class _Reader:
    """A tolerant recursive-descent JSON reader over ``text`` from ``pos``.

    Brackets still open at the end of the text are closed; ``repaired`` records that.
    """

    def __init__(self, text: str, pos: int = 0) -> None:
        self.text = text
        self.pos = pos
        self.repaired = False

    def unclosed(self) -> None:
        self.repaired = True

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
            self.pos += 1

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)

    def value(self, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise _Fail(f"the JSON is nested more than {_MAX_DEPTH} levels deep", self.pos)
        if self.at_end():
            raise _Fail("the JSON ends where a value was expected", self.pos)
        char = self.text[self.pos]
        if char == "{":
            return self.obj(depth)
        if char == "[":
            return self.array(depth)
        if char in _QUOTES:
            return self.string()
        match = _NUMBER.match(self.text, self.pos)
        if match:
            self.pos = match.end()
            try:
                return json.loads(match.group())
            except ValueError as exc:  # more digits than Python converts to int
                raise _Fail(f"the number cannot be read: {exc}", match.start()) from None
        word = _BAREWORD.match(self.text, self.pos)
        if word and word.group() in _LITERALS:
            self.pos = word.end()
            return _LITERALS[word.group()]
        raise _Fail(f"unexpected character {char!r} where a value was expected", self.pos)

    def obj(self, depth: int) -> dict[str, Any]:
        self.pos += 1  # "{"
        result: dict[str, Any] = {}
        while True:
            if self.at_end():
                self.unclosed()
                return result  # unclosed at the end of the output: close it
            if self.text[self.pos] == "}":
                self.pos += 1
                return result
            key = self.key()
            self.skip()
            if self.pos >= len(self.text) or self.text[self.pos] != ":":
                raise _Fail(f"expected ':' after the key {key!r}", self.pos)
            self.pos += 1
            result[key] = self.value(depth + 1)
            if self.at_end():
                self.unclosed()
                return result
            if self.text[self.pos] == ",":
                self.pos += 1  # a trailing comma before "}" is tolerated by the loop
            elif self.text[self.pos] != "}":
                raise _Fail("expected ',' or '}' after an object member", self.pos)

    def key(self) -> str:
        char = self.text[self.pos]
        if char in _QUOTES:
            return self.string()
        word = _BAREWORD.match(self.text, self.pos)
        if word is None:
            raise _Fail(f"unexpected character {char!r} where a key was expected", self.pos)
        self.pos = word.end()
        return word.group()

    def array(self, depth: int) -> list[Any]:
        self.pos += 1  # "["
        result: list[Any] = []
        while True:
            if self.at_end():
                self.unclosed()
                return result
            if self.text[self.pos] == "]":
                self.pos += 1
                return result
            result.append(self.value(depth + 1))
            if self.at_end():
                self.unclosed()
                return result
            if self.text[self.pos] == ",":
                self.pos += 1
            elif self.text[self.pos] != "]":
                raise _Fail("expected ',' or ']' after an array element", self.pos)

    def string(self) -> str:
        start = self.pos
        closers = _QUOTES[self.text[start]]
        pos = start + 1
        while pos < len(self.text):
            char = self.text[pos]
            if char == "\\":
                pos += 2
                continue
            if char in closers:
                self.pos = pos + 1
                return _decode_string(self.text[start + 1 : pos], self.text[start])
            pos += 1
        raise _Fail("a string is not closed", start)


def _decode_string(body: str, quote: str) -> str:
    """Decode a string body with JSON escapes, whichever quote delimited it."""
    if quote != '"':
        # A "\'" escape is not JSON; a bare '"' inside a single-quoted string is content.
        body = re.sub(r'(?<!\\)((?:\\\\)*)"', r'\1\\"', body.replace("\\'", "'"))
    try:
        decoded = json.loads(f'"{body}"', strict=False)
    except json.JSONDecodeError:
        return body  # an escape JSON does not know (like "\x41"): keep the text as written
    return str(decoded)


def _strict(text: str) -> tuple[bool, Any]:
    try:
        return True, json.loads(text, strict=False)
    except (ValueError, RecursionError):  # ValueError also covers over-long integers
        return False, None


def _read_whole(text: str) -> tuple[Any, bool]:
    """``(value, repaired)`` for text that is one JSON value."""
    reader = _Reader(text)
    value = reader.value(0)
    if not reader.at_end():
        raise _Fail("unexpected text after the JSON value", reader.pos)
    return value, reader.repaired


def _unfence(text: str) -> str:
    """The body of the first code fence in ``text``, or ``text`` itself."""
    match = _FENCE.search(text)
    return match.group(1).strip() if match else text


def _find(text: str, *, limit: int = _MAX_STARTS) -> list[tuple[Any, int, int, bool]]:
    """``(value, start, end, repaired)`` of each JSON object (else array) in ``text``."""
    for opener in "{[":
        found: list[tuple[Any, int, int, bool]] = []
        pos = text.find(opener)
        tries = 0
        while pos != -1 and tries < limit:
            tries += 1
            reader = _Reader(text, pos)
            try:
                value = reader.value(0)
            except _Fail:
                pos = text.find(opener, pos + 1)
                continue
            found.append((value, pos, reader.pos, reader.repaired))
            pos = text.find(opener, reader.pos)
        if found:
            return found
    return []


def find_json_values(text: str, *, limit: int = _MAX_STARTS) -> list[tuple[Any, int, int]]:
    """Every JSON object or array embedded in prose, as ``(value, start, end)`` spans.

    Objects are looked for first; arrays only when ``text`` holds no object. Values are read
    leniently and do not overlap. Never raises.
    """
    return [(value, start, end) for value, start, end, _ in _find(text, limit=limit)]


def json_span_finder(text: str, pos: int) -> tuple[int, int] | None:
    """The next span of ``text`` from ``pos`` that reads as one JSON object or array.

    Used to keep think tags inside JSON strings as data (see ``split_thinking``). Never raises.
    """
    tries = 0
    while tries < _MAX_STARTS:
        starts = [i for i in (text.find("{", pos), text.find("[", pos)) if i != -1]
        if not starts:
            return None
        start = min(starts)
        reader = _Reader(text, start)
        try:
            reader.value(0)
        except _Fail:
            pos, tries = start + 1, tries + 1
            continue
        return start, reader.pos
    return None


def text_after_json(text: str) -> str:
    """What follows the first JSON object or array in ``text`` (a closing fence aside), stripped.

    Empty when ``text`` holds no JSON value. Never raises.
    """
    found = _find(text, limit=_MAX_STARTS)
    if not found:
        return ""
    return text[found[0][2] :].strip().removeprefix("```").strip()


def _describe(fail: _Fail, text: str) -> str:
    line = text.count("\n", 0, fail.pos) + 1
    column = fail.pos - (text.rfind("\n", 0, fail.pos) + 1) + 1
    return f"invalid JSON: {fail.message} (line {line}, column {column})"


def lenient_json(text: str, *, allow_unclosed: bool = True) -> tuple[Any, None] | tuple[None, str]:
    """Decode the one JSON value in ``text``, tolerating the mistakes models make.

    Returns ``(value, None)`` on success and ``(None, message)`` otherwise; the message says
    what is wrong in words a model can act on. Tolerated: a code fence around the JSON, prose
    around one JSON object, trailing commas, ``'single'`` and typographic quotes, Python's
    ``True``/``False``/``None``, unquoted keys, and brackets left open at the end of the text
    (unless ``allow_unclosed`` is false: for text cut off at the token limit, where a closing
    bracket would be a guess). Never raises.
    """
    ok, value = _strict(text)
    if ok:
        return value, None
    body = _unfence(text).strip()
    if not body:
        return None, "expected a JSON value but the text is empty"
    try:
        value, repaired = _read_whole(body)
    except _Fail as fail:
        first_failure = fail
    else:
        return _unless_repaired(value, repaired, allow_unclosed)
    found = _find(body)
    if not found and body != text.strip():  # the "fence" may have been "```" inside a string
        found = _find(text)
    if len(found) == 1:
        return _unless_repaired(found[0][0], found[0][3], allow_unclosed)
    if len(found) > 1:
        return None, f"found {len(found)} separate JSON values where one was expected"
    return None, _describe(first_failure, body)


def _unless_repaired(
    value: Any, repaired: bool, allow_unclosed: bool
) -> tuple[Any, None] | tuple[None, str]:
    if repaired and not allow_unclosed:
        return None, "the JSON stops before its closing brackets"
    return value, None
