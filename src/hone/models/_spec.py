"""The one model resolver: a short string names any model (``"openai:gpt-4.1"``, ``"tiny:"``,
``"my_app.models:backend"``).

:func:`load_model` reads, in this order:

1. hone's spec kinds (:func:`parse_spec`): ``openai:``, ``openai-compatible:``, ``hf:``,
   ``tiny:``;
2. an object path, ``package.module:name`` or ``path/to/file.py:name`` (read by
   :mod:`hone._imports`, the resolver ``--tools`` and ``hone graph`` use too), naming a model
   backend, a LangChain chat model, or a function that returns one;
3. any other provider (``anthropic:...``), through LangChain's ``init_chat_model``.

A prefix that is one of hone's kinds or a LangChain provider name is a spec, never a module.
Backends are imported only when their spec is used, so ``openai:`` needs no torch and
``hf:`` needs no OpenAI key.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeAlias

from hone._imports import FORMS, import_object, module_exists, parse_object_path
from hone.errors import ConfigError, ModelLoadError, ModelPackageError, ModelSpecError
from hone.models._protocol import ModelBackend

__all__ = ["ModelSpec", "check_checkpoint_dir", "is_builtin_tiny", "load_model", "parse_spec"]

SpecKind: TypeAlias = Literal["openai", "openai-compatible", "hf", "tiny"]
_KINDS = ("openai", "openai-compatible", "hf", "tiny")
#: The providers of LangChain's ``init_chat_model``: as a prefix they name a provider, not a
#: Python module (``ollama:llama3`` while the ``ollama`` package is installed).
_LANGCHAIN_PROVIDERS = frozenset(
    (
        "anthropic",
        "azure_ai",
        "azure_openai",
        "bedrock",
        "bedrock_converse",
        "cohere",
        "deepseek",
        "fireworks",
        "google_anthropic_vertex",
        "google_genai",
        "google_vertexai",
        "groq",
        "huggingface",
        "ibm",
        "mistralai",
        "nvidia",
        "ollama",
        "perplexity",
        "together",
        "upstage",
        "xai",
    )
)

_FORMS = (
    "'openai:<model>' (e.g. openai:gpt-4.1; key from OPENAI_API_KEY), "
    "'openai-compatible:<base_url>#<model>' (e.g. openai-compatible:http://localhost:8000/v1#qwen), "
    "'hf:<checkpoint directory>', "
    "'tiny:' (the built-in tiny model) or 'tiny:<directory>'"
)
_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "vocab.json",
    "vocab.txt",
    "spiece.model",
)
_WEIGHT_PATTERNS = ("*.safetensors", "*.safetensors.index.json", "*.bin", "*.bin.index.json")


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A parsed model spec."""

    kind: SpecKind
    #: The model id (openai kinds) or the checkpoint directory (hf, tiny; "" for the built-in).
    target: str
    #: The server's base URL (openai-compatible only).
    base_url: str | None = None


def parse_spec(spec: str) -> ModelSpec:
    """Parse one of hone's model spec strings (not object paths or LangChain providers:
    :func:`load_model` reads those too).

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
    path = parse_object_path(spec)
    if path is not None and path.attr is not None:
        raise _bad(
            spec,
            f"{kind!r} is not a model kind; it reads as an object path {FORMS}, "
            "which load_model resolves",
        )
    raise _bad(spec, f"{kind!r} is not a model kind")


def is_builtin_tiny(spec: str) -> bool:
    """Whether ``spec`` names the built-in, untrained tiny model (``tiny:``)."""
    kind, sep, rest = spec.partition(":")
    return bool(sep) and kind.strip().lower() == "tiny" and not rest.strip()


def load_model(
    spec: str, *, base_dir: str | os.PathLike[str] | None = None, **kwargs: Any
) -> ModelBackend:
    """The model a string names: a model spec, an object path, or a LangChain provider spec.

    ``kwargs`` go to the backend's constructor (``api_key``, ``timeout``, ``parser`` for
    OpenAI-compatible servers; ``device``, ``dtype``, ``max_context``, ``parser`` for local
    checkpoints), to a function an object path names, or to ``init_chat_model``.

    Args:
        spec: ``openai:<model>``, ``openai-compatible:<base_url>#<model>``, ``hf:<dir>``,
            ``tiny:`` / ``tiny:<dir>``; ``package.module:name`` or ``path/to/file.py:name``
            naming a model backend, a LangChain chat model or a function returning one; or
            ``<provider>:<model>`` for LangChain's ``init_chat_model`` (when installed).
        base_dir: where relative checkpoint directories, files and module names are looked
            up first (default: the current directory).

    Raises:
        ModelSpecError: the string names no model; the message says what was wrong.
        ModelLoadError: a local checkpoint is missing files or cannot be loaded.
    """
    if not isinstance(spec, str):
        raise ModelSpecError(f"a model spec is a string, got {type(spec).__name__}")
    base = Path(base_dir).expanduser() if base_dir is not None else Path.cwd()
    kind = spec.partition(":")[0].strip().lower() if ":" in spec else ""
    if kind in _KINDS:
        return _load_spec(parse_spec(spec), base, kwargs)
    path = parse_object_path(spec)
    if path is None or path.attr is None:
        return _through_langchain(spec, kind, kwargs, missing_module=None, base=base)
    provider = kind in _LANGCHAIN_PROVIDERS
    if path.is_file or (not provider and module_exists(path.module, base_dir=base)):
        return _load_object(spec, base, kwargs)
    missing = None if provider else path.module
    return _through_langchain(spec, kind, kwargs, missing_module=missing, base=base)


def _load_spec(parsed: ModelSpec, base: Path, kwargs: dict[str, Any]) -> ModelBackend:
    if parsed.kind in ("openai", "openai-compatible"):
        from hone.models._openai import OpenAICompatibleModel

        return OpenAICompatibleModel(model=parsed.target, base_url=parsed.base_url, **kwargs)
    from hone.models._transformers import TransformersModel

    if parsed.kind == "tiny" and not parsed.target:
        from hone.models.tiny import ensure_tiny_model

        return TransformersModel.from_pretrained(ensure_tiny_model(), **kwargs)
    directory = Path(parsed.target).expanduser()
    directory = directory if directory.is_absolute() else base / directory
    check_checkpoint_dir(directory)
    return TransformersModel.from_pretrained(directory, **kwargs)


def check_checkpoint_dir(directory: str | os.PathLike[str]) -> None:
    """Check that ``directory`` holds a Hugging Face checkpoint before loading it: a
    ``config.json``, tokenizer files and weights.

    Raises:
        ModelLoadError: the directory is missing, or lacks some of them; the message names
            what is missing.
    """
    path = Path(directory)
    if not path.exists():
        raise ModelLoadError(
            f"no model directory at {path}; pass a directory written by save_pretrained "
            "(or use the spec 'tiny:' for the built-in tiny model)"
        )
    if not path.is_dir():
        raise ModelLoadError(
            f"{path} is a file; a checkpoint is a directory written by save_pretrained"
        )
    missing = []
    if not (path / "config.json").is_file():
        missing.append("config.json (the model's architecture)")
    if not any((path / name).is_file() for name in _TOKENIZER_FILES):
        missing.append(
            "tokenizer files (tokenizer.json or tokenizer_config.json with its vocabulary)"
        )
    if not any(any(path.glob(pattern)) for pattern in _WEIGHT_PATTERNS):
        missing.append("weights (*.safetensors or pytorch_model*.bin)")
    if missing:
        raise ModelLoadError(
            f"{path} is not a Hugging Face checkpoint: it has no {_join(missing)}; save the "
            "model and its tokenizer there with save_pretrained"
        )


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', no '.join(items[:-1])} and no {items[-1]}"


def _load_object(spec: str, base: Path, kwargs: dict[str, Any]) -> ModelBackend:
    """A backend an object path names: a backend, a LangChain chat model, or a function
    (called with ``kwargs``) returning one."""
    try:
        obj = import_object(spec, base_dir=base)
    except ModelSpecError:
        raise
    except ConfigError as exc:
        raise ModelSpecError(f"cannot load the model {spec!r}: {exc}") from exc
    what = "names"
    if inspect.isfunction(obj) or inspect.ismethod(obj) or inspect.isclass(obj):
        try:
            inspect.signature(obj).bind(**kwargs)
        except TypeError as exc:
            given = f" with {sorted(kwargs)}" if kwargs else ""
            raise ModelSpecError(
                f"cannot load the model {spec!r}: it cannot be called{given} ({exc}); name a "
                "model, or a function that returns one"
            ) from None
        obj, what = obj(**kwargs), "returned"
    elif kwargs:
        raise ModelSpecError(
            f"{spec!r} names a ready-made model, so {sorted(kwargs)} cannot be applied; pass "
            "them to a model spec, or name a function that takes them"
        )
    from hone.interop._model import resolve_model

    if isinstance(obj, str):
        raise ModelSpecError(f"{spec!r} {what} a string; pass that spec itself")
    try:
        return resolve_model(obj)
    except ConfigError:
        raise ModelSpecError(
            f"{spec!r} {what} a value of type {type(obj).__name__}, not a model: name a model "
            "backend (name, complete, complete_batch, stream), a LangChain chat model, "
            "or a function returning one"
        ) from None


def _through_langchain(
    spec: str, kind: str, kwargs: dict[str, Any], *, missing_module: str | None, base: Path
) -> ModelBackend:
    """A provider hone has no backend for, loaded with LangChain's ``init_chat_model``.

    ``missing_module``: the module of a value that reads as an object path but names no module
    that can be found; the error then says so first."""
    nowhere = (
        f"no module named {missing_module!r} in {base} or on the Python path"
        if missing_module is not None
        else ""
    )
    try:
        from langchain.chat_models import init_chat_model
    except ImportError as exc:
        if nowhere:
            raise ModelSpecError(
                f"cannot load the model {spec!r}: {nowhere}; name a model in your code as "
                f"{FORMS}, or use a model spec: {_FORMS}"
            ) from exc
        install = f"langchain-{kind}" if kind in _LANGCHAIN_PROVIDERS else "langchain-<provider>"
        what = f"hone has no backend for {kind!r}" if kind else "it has no '<kind>:' prefix"
        why = (
            f"{what}, and LangChain's init_chat_model, which would load it, is not installed "
            f"(pip install langchain {install})"
        )
        raise ModelPackageError(_bad(spec, why).args[0]) from exc
    if "parser" in kwargs:
        raise ModelSpecError(
            f"{spec!r} is loaded by LangChain, whose chat models return tool calls already "
            "parsed: parser= does not apply"
        )
    from hone.interop._model import LangChainModel

    try:
        chat_model = init_chat_model(spec, **kwargs)
    except Exception as exc:  # a provider's own errors too (a missing API key, ...)
        # hone's reading first (a missing module, no prefix), then LangChain's reason.
        if nowhere:
            raise ModelSpecError(
                f"cannot load the model {spec!r}: {nowhere}; name a model in your code as "
                f"{FORMS}, or use a model spec: {_FORMS} (LangChain's init_chat_model cannot "
                f"load it either: {exc})"
            ) from exc
        if not kind:
            why = (
                f"it has no '<kind>:' prefix, and LangChain's init_chat_model cannot load it: {exc}"
            )
            raise _bad(spec, why) from exc
        error = ModelPackageError if isinstance(exc, ImportError) else ModelSpecError
        raise error(f"LangChain's init_chat_model cannot load {spec!r}: {exc}") from exc
    return LangChainModel(chat_model)


def _bad(spec: str, why: str) -> ModelSpecError:
    return ModelSpecError(f"cannot understand the model spec {spec!r}: {why}; use {_FORMS}")
