"""One thread being written, as text: the core both runtimes drive.

The model's text arrives in pieces (:meth:`ThreadEpisode.write`); the episode parses it,
applies the pruning rule, and says what the runtime must do next: run a tool (then
:meth:`~ThreadEpisode.deliver` its result, which gives the text the runtime writes), cut back
an error (:meth:`~ThreadEpisode.retract`, then show the model the problem), or stop because
the thread is complete. It knows nothing of tokens or KV caches: the single-request runtime
maps its spans to tokens, the per-call runtime renders its pruned text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal, TypeAlias

from hone.threads._events import (
    Span,
    SubtasksClosed,
    ThreadClosed,
    ThreadError,
    ToolCallReady,
)
from hone.threads._parser import ThreadParser
from hone.threads._prune import Pruner, PruneRule, pruned_text
from hone.threads._schema import ThreadSchema
from hone.threads._tree import Thread

__all__ = ["ThreadEpisode", "ThreadStop", "Written", "notice_text", "result_tail"]

#: Why an episode ended: the thread is complete ("answer"), the token budget ran out
#: ("length"), the working memory did not fit even after pruning ("context_overflow"), or
#: the model kept writing malformed trees past its correction budget ("malformed").
ThreadStop: TypeAlias = Literal["answer", "length", "context_overflow", "malformed"]

# What follows a tool use's parameters up to the result's first character: written by the
# runtime; a model token that closes the parameters may already hold a beginning of it.
_TAIL_HEAD = ', "tool_result": "'


def result_tail(result: str) -> str:
    """The text the runtime writes after a tool use's parameters: the result, then the
    closing brace of the tool use."""
    return f', "tool_result": {json.dumps(result, ensure_ascii=False)}}}'


def notice_text(error: ThreadError) -> str:
    """How a problem in the thread is put to the model."""
    return (
        f"Your thread has a problem at character {error.offset}: {error.message}. "
        "Continue the thread from the point where it stops, fixing this."
    )


@dataclass(frozen=True, slots=True)
class Written:
    """What one piece of model text did."""

    #: Characters of the piece the parser read (less than all of it after a tool call: the
    #: rest is the beginning of the runtime's text, or a mistake).
    consumed: int
    #: A tool use whose parameters closed in this piece.
    call: ToolCallReady | None = None
    #: Spans the pruning rule removed because a subtask list closed in this piece.
    pruned: tuple[Span, ...] = ()
    #: The first problem (the piece is then not part of the text; see ``retract``).
    error: ThreadError | None = None
    #: The thread is complete.
    closed: bool = False


class ThreadEpisode:
    """The text of one thread and what the parser and the pruning rule made of it.

    Args:
        schema: tools and depth limit.
        rule: the pruning rule; None keeps everything.
    """

    def __init__(self, schema: ThreadSchema, rule: PruneRule | None) -> None:
        self.schema = schema
        self._parts: list[str] = []
        self._length = 0
        self._parser = ThreadParser(schema)
        self._pruner = Pruner(rule) if rule is not None else None
        self._leftover = ""  # model text after a tool call's parameters, not parsed yet
        self._delivered = 0  # tool calls whose results are in the text
        self.call: ToolCallReady | None = None  # the tool call waiting for its result
        self.errors: list[ThreadError] = []

    @property
    def text(self) -> str:
        """The whole thread text so far (nothing pruned)."""
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def length(self) -> int:
        """Characters of :attr:`text`."""
        return self._length

    @property
    def pruned(self) -> tuple[Span, ...]:
        """Every span pruned so far."""
        return tuple(self._pruner.pruned) if self._pruner is not None else ()

    @property
    def visible_text(self) -> str:
        """The text with the pruned spans removed: what a model sees when pruning is done
        on text."""
        return pruned_text(self.text, self.pruned)

    @property
    def done(self) -> bool:
        """The thread is complete."""
        return self._parser.done

    @property
    def thread(self) -> Thread | None:
        """The finished thread (None until it is complete)."""
        return self._parser.thread

    @property
    def tool_calls(self) -> int:
        """Tool uses started so far."""
        return self._parser.tool_calls

    def write(self, piece: str, *, exact_tail: bool = True) -> Written:
        """Append model text.

        On an error the text holds everything up to the error's offset and the parser stops:
        the runtime calls :meth:`retract` with that offset (dropping what the model wrote
        from there on) and shows the model :func:`notice_text`.

        After a tool use's parameters the text belongs to the runtime. With ``exact_tail``
        (one decoding request, where the model's token is in the cache already) what the
        piece holds past the parameters must be the beginning of that text; without it (a
        reply of its own, per call) the rest of the piece is dropped.
        """
        if self.call is not None:  # a model writing while its tool runs: a runtime bug
            raise RuntimeError("write() while a tool call waits for deliver()")
        start = self._parser.offset
        events = self._parser.feed(piece)
        consumed = self._parser.offset - start
        if self._parser.error is not None:
            return self._failed(self._parser.error, piece)
        call = next((e for e in events if isinstance(e, ToolCallReady)), None)
        if call is not None:
            if not exact_tail:
                piece = piece[:consumed]
            leftover = piece[consumed:]
            if not _TAIL_HEAD.startswith(leftover):
                error = ThreadError(
                    call.end,
                    "after a tool use's parameters, stop: the tool result is written for you",
                )
                return self._failed(error, piece)
            self._leftover, self.call = leftover, call
        pruned: list[Span] = []
        if self._pruner is not None:
            for event in events:
                if isinstance(event, SubtasksClosed):
                    pruned.extend(self._pruner.on_closed(event))
        self._append(piece)
        closed = any(isinstance(e, ThreadClosed) for e in events)
        return Written(consumed=consumed, call=call, pruned=tuple(pruned), closed=closed)

    def deliver(self, result: str) -> str:
        """The tool result for the waiting call; returns the text the runtime must write
        (the model's piece may already hold its first characters)."""
        if self.call is None:
            raise RuntimeError("deliver() without a waiting tool call")
        tail = result_tail(result)
        forced = tail[len(self._leftover) :]
        self._parser.resume()
        self._parser.feed(tail)
        self.call, self._leftover = None, ""
        self._delivered += 1
        self._append(forced)
        return forced

    def unfinished(self) -> ThreadError:
        """Record and return the problem of a model that ended its turn before the thread
        was complete."""
        error = ThreadError(
            self.length,
            "the thread is not finished: finish the open task with its conclusion and the "
            "thread with its answer",
        )
        self.errors.append(error)
        return error

    def retract(self, offset: int) -> ToolCallReady | None:
        """Cut the text back to ``offset`` (an error's offset: everything before it is a
        valid beginning of a thread) so the model can write on from there.

        Returns the tool call to run when the text now ends right after a tool use's
        parameters whose result was never written (then :meth:`deliver` its result).
        """
        text = self.text[:offset]
        self._parts, self._length = [text], len(text)
        parser = ThreadParser(self.schema)
        self._parser, self.call, self._leftover = parser, None, ""
        events = parser.feed(text)
        while parser.paused:
            call = next(e for e in reversed(events) if isinstance(e, ToolCallReady))
            if call.index >= self._delivered:  # cut right after its parameters
                self.call = call
                break
            parser.resume()  # an earlier call: its result is in the text
            events = parser.feed(text[parser.offset :])
        return self.call

    def _failed(self, error: ThreadError, piece: str) -> Written:
        self.errors.append(error)
        self._append(piece[: max(0, error.offset - self._length)])
        return Written(consumed=0, error=error)

    def _append(self, text: str) -> None:
        if text:
            self._parts.append(text)
            self._length += len(text)
