"""``PIIMiddleware`` in event streaming: personal data scrubbed from what a run streams.

The middleware's hooks rewrite the state; this transformer rewrites the stream, so tokens
never show what the state will not hold. It runs before the built-in projections and
changes events in place:

* a reply's text, reasoning and tool-call arguments, streamed in pieces (or, for arguments,
  as growing snapshots): each block's text is held back by ``lookback`` characters (a
  pattern may straddle two pieces) and released redacted; the cut never splits a match, and
  the block's finish event carries the rest;
* tool inputs, tool output pieces (the rest rides on ``tool-finished`` as ``final_delta``),
  tool results and errors, whole messages, and the state snapshots of ``values``.

With the ``block`` strategy the first complete match fails the run with
``PIIDetectionError``. Only the root run's transformer acts: subgraph handles share its
(already scrubbed) events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from hone.agents.middleware._redaction import ResolvedRedactionRule
from hone.graph.streaming import ProtocolEvent, StreamTransformer

if TYPE_CHECKING:
    from hone.graph.streaming import StreamMux

__all__ = ["PIIStreamTransformer"]

#: Characters held back per streamed block: longer than any built-in pattern.
LOOKBACK = 128

_DELTA_FIELD = {"text-delta": "text", "reasoning-delta": "reasoning", "tool-call-delta": "args"}
_BLOCK_FIELD = {"text": "text", "reasoning": "reasoning", "tool_call_chunk": "args"}


class PIIStreamTransformer(StreamTransformer):
    """Scrubs one rule's matches from a run's stream (see the module doc)."""

    before_builtins: ClassVar[bool] = True
    required_stream_modes: ClassVar[tuple[str, ...]] = ("messages", "tools", "values")

    def __init__(
        self,
        scope: tuple[str, ...] = (),
        *,
        rule: ResolvedRedactionRule,
        lookback: int = LOOKBACK,
    ) -> None:
        super().__init__(scope)
        self.rule = rule
        self.lookback = lookback
        self._active = True
        # (run id or tool call id, block index) -> (text released so far, text held back)
        self._held: dict[tuple[str, int], tuple[str, str]] = {}
        # the raw argument snapshots of ``block-delta`` tool-call pieces, per block
        self._snapshots: dict[tuple[str, int], str] = {}

    def init(self) -> dict[str, Any]:
        return {}

    def _on_register(self, mux: StreamMux) -> None:
        self._active = mux.is_root

    # ------------------------------------------------------------------ text

    def _redact(self, text: str) -> str:
        return self.rule.apply(text)[0]

    def _release(self, key: tuple[str, int], piece: str) -> str:
        """The redacted text that can be shown now that ``piece`` arrived."""
        released, held = self._held.get(key, ("", ""))
        text = held + piece
        if self.rule.strategy == "block":
            self.rule.apply(text)  # raises on the first complete match
        cut = len(text) - self.lookback
        for match in sorted(self.rule.detector(text), key=lambda m: m["start"], reverse=True):
            if match["start"] < cut < match["end"]:
                cut = match["start"]
        if cut <= 0:
            self._held[key] = (released, text)
            return ""
        out = self._redact(text[:cut])
        self._held[key] = (released + out, text[cut:])
        return out

    def _flush(self, key: tuple[str, int]) -> tuple[str, str]:
        """(text released so far, the redacted rest) of a block that ended."""
        released, held = self._held.pop(key, ("", ""))
        return released, self._redact(held) if held else ""

    def scrub(self, value: Any) -> Any:
        """``value`` with every string in it redacted (messages copied, never changed)."""
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, Mapping):
            return {k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.scrub(v) for v in value)
        return _scrubbed_message(self, value)

    # ------------------------------------------------------------------ events

    def process(self, event: ProtocolEvent) -> bool:
        if not self._active:
            return True
        method, params = event["method"], event["params"]
        if method == "values" and params.get("data") is not None:
            params["data"] = self.scrub(params["data"])
        elif method == "messages":
            payload, metadata = params["data"]
            if isinstance(payload, dict) and "event" in payload:
                self._message_event(payload, str((metadata or {}).get("run_id", "")))
            elif payload is not None:
                params["data"] = (self.scrub(payload), metadata)
        elif method == "tools" and isinstance(params.get("data"), dict):
            self._tool_event(params["data"])
        return True

    def _message_event(self, event: dict[str, Any], run_id: str) -> None:
        kind = event.get("event")
        index = event.get("index", 0)
        if kind == "content-block-delta":
            delta = event.get("delta") or {}
            field = _DELTA_FIELD.get(delta.get("type", ""))
            if field and isinstance(delta.get(field), str):
                delta[field] = self._release((run_id, index), delta[field])
            elif delta.get("type") == "block-delta":
                self._snapshot((run_id, index), delta.get("fields") or {})
        elif kind == "content-block-finish":
            content = event.get("content") or {}
            field = _BLOCK_FIELD.get(content.get("type", ""))
            released, rest = self._flush((run_id, index))
            self._snapshots.pop((run_id, index), None)
            if field and isinstance(content.get(field), str):
                content[field] = released + rest
            elif "args" in content:
                content["args"] = self.scrub(content["args"])
        elif kind == "message-finish":
            for store in (self._held, self._snapshots):
                for key in [k for k in store if k[0] == run_id]:
                    del store[key]

    def _snapshot(self, key: tuple[str, int], fields: dict[str, Any]) -> None:
        """A ``block-delta`` carries a tool call's arguments so far (a snapshot, not a
        piece): what it adds goes through the same hold-back, and the snapshot shown is
        what has been released."""
        args = fields.get("args")
        if not isinstance(args, str) or "chunk" not in str(fields.get("type", "")):
            return
        seen = self._snapshots.get(key, "")
        if not args.startswith(seen):  # a new snapshot, not an extension: start again
            self._held.pop(key, None)
            seen = ""
        self._snapshots[key] = args
        self._release(key, args[len(seen) :])
        fields["args"] = self._held[key][0]

    def _tool_event(self, data: dict[str, Any]) -> None:
        kind, call_id = data.get("event"), str(data.get("tool_call_id", ""))
        if kind == "tool-started" and "input" in data:
            data["input"] = self.scrub(data["input"])
        elif kind == "tool-output-delta":
            delta = data.get("delta")
            if isinstance(delta, str):
                data["delta"] = self._release((call_id, -1), delta)
            else:
                data["delta"] = self.scrub(delta)
        elif kind in ("tool-finished", "tool-error"):
            _, rest = self._flush((call_id, -1))
            if rest:
                data["final_delta"] = rest
            if "output" in data:
                data["output"] = self.scrub(data["output"])
            if isinstance(data.get("message"), str):
                data["message"] = self._redact(data["message"])


def _scrubbed_message(transformer: PIIStreamTransformer, value: Any) -> Any:
    """A copy of a hone or LangChain message with its text, reasoning and tool-call
    arguments scrubbed; anything else as it is."""
    update: dict[str, Any] = {}
    content = getattr(value, "content", None)
    if isinstance(content, str | list):
        update["content"] = transformer.scrub(content)
    if isinstance(getattr(value, "reasoning", None), str):
        update["reasoning"] = transformer.scrub(value.reasoning)
    calls = getattr(value, "tool_calls", None)
    if calls:
        update["tool_calls"] = [_scrubbed_call(transformer, call) for call in calls]
    copy = getattr(value, "model_copy", None)
    return copy(update=update) if update and copy is not None else value


def _scrubbed_call(transformer: PIIStreamTransformer, call: Any) -> Any:
    if isinstance(call, Mapping):  # LangChain's tool call dicts
        return {**call, "args": transformer.scrub(call.get("args"))}
    return call.model_copy(update={"arguments": transformer.scrub(dict(call.arguments))})
