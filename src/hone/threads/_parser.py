"""A streaming parser of threads that never raises and knows, after every piece of text, where
in the tree the next character goes.

Text is fed in pieces (one token's text at a time, or a whole reply). The parser is a JSON
scanner (a container stack; strings, numbers and literals read character by character) with
the thread's rules on top: which keys each object may have and in which order, which values
are tasks, tool uses, subtask lists or opaque ``parameters``, how deep tasks nest, which tool
names exist. Offsets are character offsets into the whole text fed so far.

What it reports:

* events, as they happen: :class:`ToolCallReady` when a ``parameters`` value closes (the
  runtime runs the tool and writes ``tool_result``), :class:`SubtasksClosed` when a subtask
  list closes (the pruning rule's trigger), :class:`ThreadClosed` when the thread is complete;
* :attr:`ThreadParser.location`: the task path and field the next character belongs to;
* the first problem, as a :class:`ThreadError` whose message is phrased for the model and
  whose offset is where the text stops being acceptable (everything before it is a valid
  beginning of a thread). After an error the parser takes no more text; a runtime cuts the
  text back to the offset and lets the model try again.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from hone.threads._events import (
    Location,
    ParsedThread,
    Span,
    SubtasksClosed,
    TaskSpan,
    ThreadClosed,
    ThreadError,
    ThreadEvent,
    ToolCallReady,
)
from hone.threads._rules import Frame, inner_field, key_problem, missing, wrong_value
from hone.threads._schema import ThreadSchema
from hone.threads._tree import Task, Thread, ToolUse

__all__ = ["ThreadParser", "parse_thread"]

#: Where a task sits: indexes of subtasks from the ``reasoning`` task (which is ``()``).

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?\Z")
_STRING_STOP = re.compile(r'["\\\x00-\x1f]')
_WHITESPACE = " \t\n\r"
# What handling one character did (see ThreadParser._step).
_TAKE, _TAKEN, _AGAIN = 1, 2, 0

_State = Literal[
    "value", "value_or_end", "key", "key_or_end", "colon", "after", "string", "number",
    "literal", "done", "error",
]  # fmt: skip


class ThreadParser:
    """Reads a thread as it is written (see the module docstring); never raises.

    Args:
        schema: the tools and depth limit the thread must respect.
    """

    def __init__(self, schema: ThreadSchema) -> None:
        self.schema = schema
        self._tools = set(schema.tool_names)
        self._stack: list[Frame] = []
        self._state: _State = "value"
        self._offset = 0
        self._token: list[str] = []  # raw text of the string/number/literal being read
        self._token_start = 0
        self._string_is_key = False
        self._escape = 0  # 0: none; 1: after a backslash; 2..5: reading \\uXXXX hex digits
        self._literal = ""
        self._capture: list[str] | None = None  # raw text of the parameters being read
        self._capture_depth = 0
        self._calls = 0
        self._paused = False
        self._events: list[ThreadEvent] = []
        self.error: ThreadError | None = None
        self.thread: Thread | None = None

    @property
    def offset(self) -> int:
        """Characters read so far."""
        return self._offset

    @property
    def done(self) -> bool:
        """The thread is complete."""
        return self._state == "done"

    @property
    def paused(self) -> bool:
        """A tool use's parameters just closed: nothing more is read until :meth:`resume`
        (the runtime writes the tool result first)."""
        return self._paused

    def resume(self) -> None:
        """Read on after a :class:`ToolCallReady` pause."""
        self._paused = False

    @property
    def tool_calls(self) -> int:
        """Tool uses whose parameters closed so far."""
        return self._calls

    @property
    def location(self) -> Location:
        """The innermost task and the field the next character belongs to (the field whose
        key or value is being written, or the last one written until the next key starts)."""
        between = self._state in ("key", "key_or_end")  # after '{' or ',' in an object
        for frame in reversed(self._stack):
            if frame.role == "task":
                inner = self._stack[-1]
                if inner is frame:
                    name = None if between else frame.key
                else:
                    name = inner_field(frame, inner, between)
                return Location(path=frame.path, field=name, depth=frame.depth)
        top = self._stack[-1] if self._stack else None
        name = top.key if top is not None and not between else None
        return Location(path=None, field=name, depth=0)

    def feed(self, text: str) -> list[ThreadEvent]:
        """Read more text; return the events it completed.

        Reading stops at an error and after a :class:`ToolCallReady` (see :attr:`paused`);
        :attr:`offset` tells how much of the text was read.
        """
        i, n = 0, len(text)
        while i < n and self._state != "error" and not self._paused:
            if self._state == "string":
                i = self._read_string(text, i)
                continue
            char = text[i]
            if self._state == "done":
                if char not in _WHITESPACE:
                    self._fail("the thread is already complete: nothing may follow it")
                    break
                outcome = _TAKE
            else:
                outcome = self._step(char)
            if outcome == _TAKE:
                self._advance(char)
            if outcome != _AGAIN:
                i += 1
        events, self._events = self._events, []
        return events

    # -- characters --------------------------------------------------------------------

    def _advance(self, chars: str) -> None:
        if self._capture is not None:
            self._capture.append(chars)
        self._offset += len(chars)

    def _step(self, char: str) -> int:
        """Handle one character outside strings: :data:`_TAKE` (the caller counts it),
        :data:`_TAKEN` (counted already) or :data:`_AGAIN` (it ended a number: read it
        again). After an error the state is "error" and the value does not matter."""
        state = self._state
        if state == "number":
            if char in "+-.eE0123456789":
                self._token.append(char)
                return _TAKE
            self._end_number()
            return _AGAIN
        if state == "literal":
            return self._read_literal(char)
        if char in _WHITESPACE:
            return _TAKE
        if state in ("value", "value_or_end"):
            if char == "]" and state == "value_or_end":
                return self._close(char)
            return self._start_value(char)
        if state in ("key", "key_or_end"):
            if char == "}" and state == "key_or_end":
                return self._close(char)
            if char != '"':
                return self._fail('expected a key in double quotes, like "thought"')
            self._begin_string(is_key=True)
            return _TAKE
        if state == "colon":
            if char != ":":
                return self._fail("expected ':' after the key")
            self._state = "value"
            return _TAKE
        # after a value
        top = self._stack[-1]
        if char == ",":
            self._state = "key" if top.kind == "object" else "value"
            return _TAKE
        if char in "}]":
            if (char == "}") != (top.kind == "object"):
                return self._fail(f"unexpected {char!r}: close the open {top.kind} first")
            return self._close(char)
        return self._fail(f"expected ',' or {'}' if top.kind == 'object' else ']'!r}")

    def _start_value(self, char: str) -> int:
        if char == '"':
            if not self._check_scalar("string"):
                return _AGAIN
            self._begin_string(is_key=False)
            return _TAKE
        if char in "{[":
            return self._open("object" if char == "{" else "array")
        if char == "-" or char.isdigit():
            if not self._check_scalar("number"):
                return _AGAIN
            self._state, self._token, self._token_start = "number", [char], self._offset
            return _TAKE
        for word in ("true", "false", "null"):
            if char == word[0]:
                if not self._check_scalar("literal"):
                    return _AGAIN
                self._state, self._literal = "literal", word
                self._token, self._token_start = [char], self._offset
                return _TAKE
        return self._fail(f"unexpected {char!r}: expected a JSON value")

    def _begin_string(self, *, is_key: bool) -> None:
        self._state, self._string_is_key = "string", is_key
        self._token, self._token_start, self._escape = ['"'], self._offset, 0

    def _read_string(self, text: str, i: int) -> int:
        """Read string characters from ``text[i:]``; return where reading stopped."""
        if self._escape == 0:
            match = _STRING_STOP.search(text, i)
            end = match.start() if match is not None else len(text)
            if end > i:
                run = text[i:end]
                self._token.append(run)
                self._advance(run)
                return end
        char = text[i]
        if self._escape == 1:
            if char == "u":
                self._escape = 2
            elif char in '"\\/bfnrt':
                self._escape = 0
            else:
                self._fail(f"invalid escape '\\{char}' in a string")
                return i
        elif self._escape >= 2:
            if char not in "0123456789abcdefABCDEF":
                self._fail("a \\u escape needs four hex digits")
                return i
            self._escape = 0 if self._escape == 5 else self._escape + 1
        elif char == "\\":
            self._escape = 1
        elif char == '"':
            self._token.append(char)
            self._advance(char)
            self._end_string()
            return i + 1
        else:  # a control character
            self._fail("a string may not contain a raw control character (write \\n for a newline)")
            return i
        self._token.append(char)
        self._advance(char)
        return i + 1

    def _end_string(self) -> None:
        value = json.loads("".join(self._token))
        if self._string_is_key:
            self._state = "colon"
            self._on_key(value)
        else:
            self._state = "after"
            self._on_value(value, self._token_start)

    def _end_number(self) -> None:
        raw = "".join(self._token)
        if _NUMBER.match(raw) is None:
            self._offset_error(self._token_start, f"{raw!r} is not a JSON number")
            return
        self._state = "after"
        self._on_value(json.loads(raw), self._token_start)

    def _read_literal(self, char: str) -> int:
        if char != self._literal[len(self._token)]:
            return self._fail(f"expected {self._literal!r}")
        self._token.append(char)
        if len(self._token) < len(self._literal):
            return _TAKE
        self._advance(char)
        self._state = "after"
        self._on_value(json.loads(self._literal), self._token_start)
        return _TAKEN

    def _fail(self, message: str) -> int:
        self._offset_error(self._offset, message)
        return _AGAIN

    def _offset_error(self, offset: int, message: str) -> None:
        if self.error is None:
            self.error = ThreadError(offset=offset, message=message)
        self._state = "error"

    # -- the thread's rules ------------------------------------------------------------

    def _check_scalar(self, kind: str) -> bool:
        """A scalar is about to start where the parent expects something: is it allowed?"""
        want = self._expected()
        if want == "any" or (want == "string" and kind == "string"):
            return True
        self._fail(wrong_value(self._slot(), want))
        return False

    def _expected(self) -> str:
        """What value the current slot takes: 'task', 'tooluse', 'subtasks', 'parameters',
        'string', 'thread' or 'any'."""
        if not self._stack:
            return "thread"
        top = self._stack[-1]
        if top.role in ("opaque", "parameters"):
            return "any"
        if top.role == "subtasks":
            return "task"
        key = top.key
        if top.role == "thread":
            return "task" if key == "reasoning" else "string"
        if top.role == "task":
            return {"tooluse": "tooluse", "subtasks": "subtasks"}.get(key or "", "string")
        return "parameters" if key == "parameters" else "string"  # tooluse

    def _slot(self) -> str:
        if not self._stack:
            return "the thread"
        top = self._stack[-1]
        return "a subtask" if top.role == "subtasks" else f'"{top.key}"'

    def _open(self, kind: Literal["object", "array"]) -> int:
        want = self._expected()
        parent = self._stack[-1] if self._stack else None
        frame = Frame(kind=kind, role="opaque", start=self._offset)
        if want == "any":
            frame.role = "opaque"
        elif want == "parameters":
            if kind != "object":
                return self._fail('"parameters" must be a JSON object')
            frame.role = "parameters"
            self._capture, self._capture_depth = [], len(self._stack) + 1
        elif want == "thread" and kind == "object":
            frame.role = "thread"
        elif want == "task" and kind == "object" and parent is not None:
            frame.role = "task"
            if parent.role == "thread":
                frame.depth, frame.path = 1, ()
            else:  # an item of a subtask list
                owner = self._stack[-2]
                frame.depth, frame.path = owner.depth + 1, (*owner.path, len(parent.items))
        elif want == "tooluse" and kind == "object":
            frame.role = "tooluse"
        elif want == "subtasks" and kind == "array":
            frame.role = "subtasks"
        else:
            return self._fail(wrong_value(self._slot(), want))
        self._stack.append(frame)
        self._state = "key_or_end" if kind == "object" else "value_or_end"
        return _TAKE

    def _on_key(self, key: str) -> None:
        top = self._stack[-1]
        start = self._token_start
        top.key, top.key_start = key, start
        if top.role in ("opaque", "parameters"):
            return
        problem = key_problem(top, key, self.schema.max_depth)
        if problem is not None:
            self._offset_error(start, problem)
            return
        top.keys.append(key)
        if top.role == "task" and key == "conclusion":
            top.conclusion_at = start

    def _on_value(self, value: Any, start: int) -> None:
        if not self._stack:  # a bare scalar where the thread should be
            self._offset_error(start, "a thread is a JSON object: start with '{'")
            return
        top = self._stack[-1]
        if top.role == "tooluse" and top.key == "tool_name" and value not in self._tools:
            names = ", ".join(self.schema.tool_names) or "none"
            self._offset_error(start, f"unknown tool {value!r}; the tools are: {names}")
            return
        if top.role in ("thread", "task", "tooluse") and top.key is not None:
            top.values[top.key] = value

    def _close(self, char: str) -> int:
        frame = self._stack[-1]
        problem = missing(frame)
        if problem is not None:
            return self._fail(problem)
        end = self._offset + 1
        self._stack.pop()
        self._advance(char)
        self._state = "after" if self._stack else "done"
        self._finish(frame, end)
        return _TAKEN

    def _finish(self, frame: Frame, end: int) -> None:
        parent = self._stack[-1] if self._stack else None
        if frame.role == "parameters":
            raw = "".join(self._capture or ())
            self._capture = None
            parameters = json.loads(raw)
            if parent is not None:
                parent.values["parameters"] = parameters
            owner = self._owner_task()
            self._events.append(
                ToolCallReady(
                    path=owner.path if owner is not None else (),
                    index=self._calls,
                    tool_name=str(parent.values.get("tool_name", "")) if parent else "",
                    parameters=parameters,
                    end=end,
                )
            )
            self._calls += 1
            self._paused = True
        elif frame.role == "tooluse" and parent is not None:
            parent.values["tooluse"] = ToolUse(
                tool_name=frame.values["tool_name"],
                parameters=frame.values["parameters"],
                tool_result=frame.values.get("tool_result"),
            )
        elif frame.role == "task" and parent is not None:
            task = Task(
                thought=frame.values["thought"],
                conclusion=frame.values["conclusion"],
                tooluse=frame.values.get("tooluse"),
                subtasks=tuple(frame.values.get("subtasks", ())),
            )
            internals = Span(frame.start + 1, frame.conclusion_at)
            if parent.role == "subtasks":
                parent.items.append(task)
                parent.spans.append(TaskSpan(frame.path, Span(frame.start, end), internals))
            else:
                parent.values["reasoning"] = task
        elif frame.role == "subtasks" and parent is not None:
            parent.values["subtasks"] = tuple(frame.items)
            self._events.append(
                SubtasksClosed(
                    path=parent.path, span=Span(frame.start, end), tasks=tuple(frame.spans)
                )
            )
        elif frame.role == "thread":
            self.thread = Thread(reasoning=frame.values["reasoning"], answer=frame.values["answer"])
            self._events.append(ThreadClosed(thread=self.thread, end=end))

    def _owner_task(self) -> Frame | None:
        return next((f for f in reversed(self._stack) if f.role == "task"), None)


def parse_thread(text: str, schema: ThreadSchema) -> ParsedThread:
    """Parse a whole thread text (tool results included); ``error`` says why it is not a
    complete, valid thread."""
    parser = ThreadParser(schema)
    events = parser.feed(text)
    while parser.paused:
        parser.resume()
        events.extend(parser.feed(text[parser.offset :]))
    error = parser.error
    if error is None and not parser.done:
        error = ThreadError(len(text), _unfinished(parser))
    return ParsedThread(thread=parser.thread, error=error, events=tuple(events))


def _unfinished(parser: ThreadParser) -> str:
    where = parser.location
    if where.path is None:
        return "the thread is not finished: close it with its answer"
    return (
        "the thread is not finished: the task being written must end with its conclusion, "
        "and the thread with its answer"
    )
