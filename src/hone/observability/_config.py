"""Where hone's spans go, and whether they may carry message content.

hone records spans through the OpenTelemetry *API* only. With no tracer provider set
(``opentelemetry.trace.set_tracer_provider`` never called, no ``OTEL_PYTHON_TRACER_PROVIDER``)
:func:`active_tracer` returns None and every hook returns before it builds anything, so an
untraced program pays one provider lookup per graph run, model call or tool call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider, Tracer, TracerProvider

from hone._version import __version__

__all__ = ["CONTENT_ENV", "active_tracer", "capture_content", "configure_tracing"]

#: The environment variable the GenAI semantic conventions name for opting in to message
#: content on spans (``true`` / ``1`` / ``span_only`` / ``span_and_event`` turn it on).
CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_CONTENT_ON = frozenset({"true", "1", "yes", "on", "span_only", "span_and_event"})
_SCOPE = "hone"


@dataclass(slots=True)
class _Settings:
    #: The provider :func:`configure_tracing` set (None: OpenTelemetry's global one).
    provider: TracerProvider | None = None
    #: Whether to record message content (None: read :data:`CONTENT_ENV`).
    content: bool | None = None
    #: The provider the cached tracer came from, and that tracer (None: spans are off).
    seen: object = None
    tracer: Tracer | None = None


_SETTINGS = _Settings()


def configure_tracing(
    *, tracer_provider: TracerProvider | None = None, capture_content: bool | None = None
) -> None:
    """Choose where hone's spans go and whether they carry message content.

    Without this call hone uses OpenTelemetry's global tracer provider (the one
    ``opentelemetry.trace.set_tracer_provider`` installs) and records no message content
    unless ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`` is set. Calling it again
    replaces both settings; ``configure_tracing()`` restores the defaults.

    Args:
        tracer_provider: the provider to record spans with, instead of the global one.
        capture_content: record prompts, replies, tool arguments and tool results on spans
            (``gen_ai.input.messages``, ``gen_ai.output.messages``,
            ``gen_ai.tool.call.arguments``, ``gen_ai.tool.call.result``). They may hold
            personal data; None follows the environment variable.
    """
    _SETTINGS.provider = tracer_provider
    _SETTINGS.content = capture_content
    _SETTINGS.seen = None
    _SETTINGS.tracer = None


def active_tracer() -> Tracer | None:
    """hone's tracer, or None when no tracer provider is configured (spans would be
    dropped, so hooks skip them)."""
    provider = _SETTINGS.provider or trace.get_tracer_provider()
    if provider is not _SETTINGS.seen:
        off = isinstance(provider, ProxyTracerProvider | NoOpTracerProvider)
        _SETTINGS.tracer = None if off else provider.get_tracer(_SCOPE, __version__)
        _SETTINGS.seen = provider
    return _SETTINGS.tracer


def capture_content() -> bool:
    """Whether spans may carry message content (see :func:`configure_tracing`)."""
    if _SETTINGS.content is not None:
        return _SETTINGS.content
    return os.environ.get(CONTENT_ENV, "").strip().lower() in _CONTENT_ON
