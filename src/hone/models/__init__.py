"""Model backends behind one small protocol.

``load_model(spec)`` picks a backend from a spec string: ``openai:gpt-4.1``,
``openai-compatible:http://host:8000/v1#model``, ``hf:/path/to/checkpoint``, ``tiny:``, or an
object path (``my_app.models:backend``, ``path/to/file.py:make_model``) naming one.
Backends that need torch (:class:`TransformersModel`) are imported on first use, so importing
``hone.models`` stays light.

Every backend also reads like a LangChain chat model (:class:`ChatSurface`): ``invoke``,
``stream``, ``batch`` and their async twins, ``bind_tools`` (a :class:`BoundModel`) and
``with_structured_output`` (a :class:`StructuredModel`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hone.models._batching import BatchingModel
from hone.models._bound import BoundModel
from hone.models._chat import ChatSurface
from hone.models._chat_output import StructuredModel
from hone.models._prefix_cache import PrefixCacheStats
from hone.models._protocol import (
    ChatRequest,
    Completion,
    FinishReason,
    ModelBackend,
    SamplingOptions,
    StreamEvent,
    TokenLogprob,
    ToolChoice,
    Usage,
    complete_sync,
    make_request,
)
from hone.models._scripted import ScriptedModel
from hone.models._spec import ModelSpec, load_model, parse_spec

if TYPE_CHECKING:
    from hone.models._openai import OpenAICompatibleModel
    from hone.models._server import VLLMServer, vllm_command
    from hone.models._transformers import TransformersModel

__all__ = [
    "BatchingModel",
    "BoundModel",
    "ChatRequest",
    "ChatSurface",
    "Completion",
    "FinishReason",
    "ModelBackend",
    "ModelSpec",
    "OpenAICompatibleModel",
    "PrefixCacheStats",
    "SamplingOptions",
    "ScriptedModel",
    "StreamEvent",
    "StructuredModel",
    "TokenLogprob",
    "ToolChoice",
    "TransformersModel",
    "Usage",
    "VLLMServer",
    "complete_sync",
    "load_model",
    "make_request",
    "parse_spec",
    "vllm_command",
]


def __getattr__(name: str) -> Any:
    if name == "OpenAICompatibleModel":
        from hone.models._openai import OpenAICompatibleModel

        return OpenAICompatibleModel
    if name in ("VLLMServer", "vllm_command"):
        from hone.models import _server

        return getattr(_server, name)
    if name == "TransformersModel":
        from hone.models._transformers import TransformersModel

        return TransformersModel
    raise AttributeError(f"module 'hone.models' has no attribute {name!r}")
