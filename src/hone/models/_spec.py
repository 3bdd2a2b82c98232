"""Model spec strings: one short string names any backend (``"openai:gpt-4.1"``, ``"tiny:"``).

Backends are imported only when their spec is used, so ``openai:`` needs no torch and
``hf:`` needs no OpenAI key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from hone.errors import ModelSpecError
from hone.models._protocol import ModelBackend

__all__ = ["ModelSpec", "load_model", "parse_spec"]

SpecKind: TypeAlias = Literal["openai", "openai-compatible", "hf", "tiny"]
_KINDS = ("openai", "openai-compatible", "hf", "tiny")

_FORMS = (
    "'openai:<model>' (e.g. openai:gpt-4.1; key from OPENAI_API_KEY), "
    "'openai-compatible:<base_url>#<model>' (e.g. openai-compatible:http://localhost:8000/v1#qwen), "
    "'hf:<checkpoint directory>', "
    "'tiny:' (the built-in tiny model) or 'tiny:<directory>'"
)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A parsed model spec."""

    kind: SpecKind
    #: The model id (openai kinds) or the checkpoint directory (hf, tiny; "" for the built-in).
    target: str
    #: The server's base URL (openai-compatible only).
    base_url: str | None = None


def parse_spec(spec: str) -> ModelSpec:
    """Parse a model spec string.

    Raises:
        ModelSpecError: the spec has an unknown kind or a missing part; the message lists the
            accepted forms.
    """
    kind, sep, rest = spec.partition(":")
    kind = kind.strip().lower()
    if not sep:
        raise _bad(spec, "it has no '<kind>:' prefix")
    if kind == "openai":
        if not rest.strip():
            raise _bad(spec, "the model name is missing")
        return ModelSpec(kind="openai", target=rest.strip())
    if kind == "openai-compatible":
        base_url, hash_sep, model = rest.rpartition("#")
        if not hash_sep or not base_url.strip() or not model.strip():
            raise _bad(spec, "it needs both a base URL and '#<model>'")
        if not base_url.startswith(("http://", "https://")):
            raise _bad(spec, f"the base URL {base_url!r} must start with http:// or https://")
        return ModelSpec(kind="openai-compatible", target=model.strip(), base_url=base_url.strip())
    if kind == "hf":
        if not rest.strip():
            raise _bad(spec, "the checkpoint directory is missing")
        return ModelSpec(kind="hf", target=rest.strip())
    if kind == "tiny":
        return ModelSpec(kind="tiny", target=rest.strip())
    raise _bad(spec, f"unknown kind {kind!r}")


def load_model(spec: str, **kwargs: Any) -> ModelBackend:
    """The backend a spec string names; ``kwargs`` go to the backend's constructor
    (``api_key``, ``timeout`` for OpenAI; ``device``, ``dtype``, ``max_context`` for local).

    A provider hone has no backend for (``anthropic:...``, ``google_genai:...``, or a spec
    without a prefix) is loaded with LangChain's ``init_chat_model`` when the ``langchain``
    package is installed, and wrapped in :class:`~hone.interop.LangChainModel`.

    Raises:
        ModelSpecError: the spec cannot be understood.
        ModelLoadError: a local checkpoint cannot be loaded.
    """
    kind = spec.partition(":")[0].strip().lower() if ":" in spec else ""
    if kind not in _KINDS:
        return _through_langchain(spec, kind, kwargs)
    parsed = parse_spec(spec)
    if parsed.kind in ("openai", "openai-compatible"):
        from hone.models._openai import OpenAICompatibleModel

        return OpenAICompatibleModel(model=parsed.target, base_url=parsed.base_url, **kwargs)
    from hone.models._transformers import TransformersModel

    if parsed.kind == "tiny" and not parsed.target:
        from hone.models.tiny import ensure_tiny_model

        return TransformersModel.from_pretrained(ensure_tiny_model(), **kwargs)
    return TransformersModel.from_pretrained(parsed.target, **kwargs)


def _through_langchain(spec: str, kind: str, kwargs: dict[str, Any]) -> ModelBackend:
    """A provider hone has no backend for, loaded with LangChain's ``init_chat_model``."""
    try:
        from langchain.chat_models import init_chat_model
    except ImportError as exc:
        what = f"no backend for {kind!r}" if kind else "no '<kind>:' prefix"
        raise _bad(
            spec,
            f"hone has {what}, and LangChain's init_chat_model, which would load it, is not "
            "installed (pip install langchain langchain-<provider>)",
        ) from exc
    from hone.interop._model import LangChainModel

    try:
        chat_model = init_chat_model(spec, **kwargs)
    except (ImportError, ValueError, TypeError) as exc:
        raise ModelSpecError(f"LangChain's init_chat_model cannot load {spec!r}: {exc}") from exc
    return LangChainModel(chat_model)


def _bad(spec: str, why: str) -> ModelSpecError:
    return ModelSpecError(f"cannot understand the model spec {spec!r}: {why}; use {_FORMS}")
