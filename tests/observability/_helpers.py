"""Reading the finished spans of a test."""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class Spans:
    """The finished spans of a test, with lookups by name and attribute."""

    def __init__(self, exporter: InMemorySpanExporter, provider: TracerProvider) -> None:
        self.exporter = exporter
        #: The provider hone records with in this test.
        self.provider = provider

    def all(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.all() if s.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, f"{len(found)} spans named {name!r}: {self.names()}"
        return found[0]

    def where(self, key: str, value: Any) -> list[ReadableSpan]:
        return [s for s in self.all() if (s.attributes or {}).get(key) == value]

    def names(self) -> list[str]:
        return [s.name for s in self.all()]

    def parent_of(self, span: ReadableSpan) -> ReadableSpan | None:
        if span.parent is None:
            return None
        return next(
            (
                s
                for s in self.all()
                if s.context is not None and s.context.span_id == span.parent.span_id
            ),
            None,
        )


def attrs(span: ReadableSpan) -> dict[str, Any]:
    """A span's attributes as a plain dict (sequences as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in (span.attributes or {}).items()}


def json_attr(span: ReadableSpan, key: str) -> Any:
    """A JSON-string attribute, decoded."""
    value = (span.attributes or {})[key]
    assert isinstance(value, str)
    return json.loads(value)
