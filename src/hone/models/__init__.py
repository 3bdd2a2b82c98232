"""Model backends behind one small protocol.

``load_model(spec)`` picks a backend from a spec string: ``openai:gpt-4.1``,
``openai-compatible:http://host:8000/v1#model``, ``hf:/path/to/checkpoint`` or ``tiny:``.
Backends that need torch (:class:`TransformersModel`) are imported on first use, so importing
``hone.models`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hone.models._batching import BatchingModel
from hone.models._protocol import (
    ChatRequest,
    Completion,
    FinishReason,
    ModelBackend,
    SamplingOptions,
    StreamEvent,
    ToolChoice,
    Usage,
    complete_sync,
    make_request,
)
from hone.models._scripted import ScriptedModel
from hone.models._spec import ModelSpec, load_model, parse_spec

if TYPE_CHECKING:
    from hone.models._openai import OpenAICompatibleModel
    from hone.models._transformers import TransformersModel

__all__ = [
    "BatchingModel",
    "ChatRequest",
    "Completion",
    "FinishReason",
    "ModelBackend",
    "ModelSpec",
    "OpenAICompatibleModel",
    "SamplingOptions",
    "ScriptedModel",
    "StreamEvent",
    "ToolChoice",
    "TransformersModel",
    "Usage",
    "complete_sync",
    "load_model",
    "make_request",
    "parse_spec",
]


def __getattr__(name: str) -> Any:
    if name == "OpenAICompatibleModel":
        from hone.models._openai import OpenAICompatibleModel

        return OpenAICompatibleModel
    if name == "TransformersModel":
        from hone.models._transformers import TransformersModel

        return TransformersModel
    raise AttributeError(f"module 'hone.models' has no attribute {name!r}")
