"""``BaseStore``: LangGraph's store surface over two abstract methods, ``batch`` and
``abatch``.

A store of your own subclasses it and implements those two; ``get``, ``search``, ``put``,
``delete``, ``list_namespaces`` and their ``a``-prefixed twins come with it, with LangGraph's
signatures and namespace checks. Check it with :mod:`hone.store.conformance`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from hone.errors import InvalidNamespaceError
from hone.store._types import (
    NOT_PROVIDED,
    GetOp,
    IndexConfig,
    Item,
    ListNamespacesOp,
    MatchCondition,
    NamespacePath,
    NotProvided,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
)

__all__ = ["BaseStore", "check_labels", "check_namespace"]


def check_labels(namespace: Any) -> tuple[str, ...]:
    """``namespace`` as a tuple, every label checked.

    Raises:
        InvalidNamespaceError: not a tuple or list of strings, or a label that is empty or
            holds ``.`` or a NUL byte.
    """
    if isinstance(namespace, str) or not isinstance(namespace, tuple | list):
        raise InvalidNamespaceError(
            f"a namespace is a tuple of string labels such as ('users', '42'), got {namespace!r}"
        )
    for label in namespace:
        if not isinstance(label, str):
            raise InvalidNamespaceError(
                f"namespace labels must be strings, got {type(label).__name__} {label!r} in "
                f"{tuple(namespace)!r}"
            )
        if not label:
            raise InvalidNamespaceError(f"namespace labels cannot be empty: {tuple(namespace)!r}")
        if "." in label or "\x00" in label:
            raise InvalidNamespaceError(
                f"namespace label {label!r} in {tuple(namespace)!r} holds "
                f"{'a period' if '.' in label else 'a NUL byte'}, which labels cannot"
            )
    return tuple(namespace)


def check_namespace(namespace: Any) -> tuple[str, ...]:
    """A namespace to write to: non-empty, valid labels, not rooted at ``"langgraph"``.

    Raises:
        InvalidNamespaceError: see :func:`check_labels`; also an empty namespace or the
            reserved root label ``"langgraph"``.
    """
    labels = check_labels(namespace)
    if not labels:
        raise InvalidNamespaceError("a namespace to write to cannot be empty")
    if labels[0] == "langgraph":
        raise InvalidNamespaceError(
            f'the root label "langgraph" is reserved (LangGraph\'s rule), got {labels!r}'
        )
    return labels


def _refresh(ttl_config: TTLConfig | None, refresh_ttl: bool | None) -> bool:
    if refresh_ttl is not None:
        return refresh_ttl
    return True if ttl_config is None else ttl_config.get("refresh_on_read", True)


def _ttl(ttl_config: TTLConfig | None, ttl: float | NotProvided | None) -> float | None:
    if isinstance(ttl, NotProvided):
        return None if not ttl_config else ttl_config.get("default_ttl")
    return ttl


def _conditions(
    prefix: NamespacePath | None, suffix: NamespacePath | None
) -> tuple[MatchCondition, ...]:
    out = []
    if prefix:
        out.append(MatchCondition("prefix", check_labels(prefix)))
    if suffix:
        out.append(MatchCondition("suffix", check_labels(suffix)))
    return tuple(out)


class BaseStore(ABC):
    """A long-term store: JSON values under ``(namespace, key)``, shared across threads and
    runs, with filtered and semantic search (LangGraph's ``BaseStore``).

    Subclasses implement :meth:`batch` and :meth:`abatch`; the rest is built on them.
    """

    #: Whether ``put(..., ttl=...)`` is honoured.
    supports_ttl: bool = False
    #: The store's TTL settings (None: items live until deleted unless ``put`` names a TTL).
    ttl_config: TTLConfig | None = None
    #: The store's index settings (None: no semantic search; ``query`` is ignored).
    index_config: IndexConfig | None = None

    __slots__ = ("__weakref__",)

    @abstractmethod
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run operations; one result per operation, in order."""

    @abstractmethod
    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Run operations without blocking the event loop; one result per operation."""

    # -- sync --------------------------------------------------------------------------------

    def get(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        """The item at ``namespace``/``key``, or None (expired items are gone).

        Raises:
            InvalidNamespaceError: a malformed namespace.
        """
        op = GetOp(check_labels(namespace), str(key), _refresh(self.ttl_config, refresh_ttl))
        return self.batch([op])[0]  # type: ignore[return-value]

    def search(
        self,
        namespace_prefix: tuple[str, ...],
        /,
        *,
        query: str | None = None,
        filter: Mapping[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
    ) -> list[SearchItem]:
        """Items under ``namespace_prefix`` that match ``filter``, one page.

        With ``query`` (and an index config), items are ranked by cosine similarity to the
        query, the best of each item's vectors, with ``score`` set; items with no vectors
        follow. Without, the most recently updated come first.

        Raises:
            InvalidNamespaceError: a malformed prefix.
            InvalidFilterError: a malformed filter.
        """
        op = SearchOp(
            check_labels(namespace_prefix),
            dict(filter) if isinstance(filter, Mapping) else filter,
            limit,
            offset,
            query,
            _refresh(self.ttl_config, refresh_ttl),
        )
        return self.batch([op])[0]  # type: ignore[return-value]

    def put(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | NotProvided | None = NOT_PROVIDED,
    ) -> None:
        """Store ``value`` (a JSON dict) at ``namespace``/``key``, replacing what was there.

        Args:
            namespace: where, e.g. ``("users", "42", "memories")``.
            key: the item's key in the namespace.
            value: a dict of JSON values.
            index: None embeds the index config's fields, False nothing, a list these paths.
            ttl: minutes the item lives after its last write or refreshing read; None
                forever; left out, the TTL config's ``default_ttl``.

        Raises:
            InvalidNamespaceError: a malformed namespace, or one rooted at ``"langgraph"``.
            NotImplementedError: a ``ttl`` on a store without TTL support.
        """
        labels = check_namespace(namespace)
        if ttl not in (NOT_PROVIDED, None) and not self.supports_ttl:
            raise NotImplementedError(f"{type(self).__name__} does not support TTLs")
        op = PutOp(labels, str(key), value, index, _ttl(self.ttl_config, ttl))
        self.batch([op])

    def delete(self, namespace: tuple[str, ...], key: str) -> None:
        """Delete the item at ``namespace``/``key`` (nothing happens when there is none).

        Raises:
            InvalidNamespaceError: a malformed namespace.
        """
        self.batch([PutOp(check_labels(namespace), str(key), None)])

    def list_namespaces(
        self,
        *,
        prefix: NamespacePath | None = None,
        suffix: NamespacePath | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        """Namespaces holding items, sorted, matching ``prefix`` and ``suffix`` (``"*"``
        matches any one label), cut to ``max_depth`` labels (duplicates merged), one page.

        Raises:
            InvalidNamespaceError: a malformed prefix or suffix.
        """
        op = ListNamespacesOp(_conditions(prefix, suffix), max_depth, limit, offset)
        return self.batch([op])[0]  # type: ignore[return-value]

    # -- async -------------------------------------------------------------------------------

    async def aget(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        """Async :meth:`get`."""
        op = GetOp(check_labels(namespace), str(key), _refresh(self.ttl_config, refresh_ttl))
        return (await self.abatch([op]))[0]  # type: ignore[return-value]

    async def asearch(
        self,
        namespace_prefix: tuple[str, ...],
        /,
        *,
        query: str | None = None,
        filter: Mapping[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
    ) -> list[SearchItem]:
        """Async :meth:`search`."""
        op = SearchOp(
            check_labels(namespace_prefix),
            dict(filter) if isinstance(filter, Mapping) else filter,
            limit,
            offset,
            query,
            _refresh(self.ttl_config, refresh_ttl),
        )
        return (await self.abatch([op]))[0]  # type: ignore[return-value]

    async def aput(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | NotProvided | None = NOT_PROVIDED,
    ) -> None:
        """Async :meth:`put`."""
        labels = check_namespace(namespace)
        if ttl not in (NOT_PROVIDED, None) and not self.supports_ttl:
            raise NotImplementedError(f"{type(self).__name__} does not support TTLs")
        await self.abatch([PutOp(labels, str(key), value, index, _ttl(self.ttl_config, ttl))])

    async def adelete(self, namespace: tuple[str, ...], key: str) -> None:
        """Async :meth:`delete`."""
        await self.abatch([PutOp(check_labels(namespace), str(key), None)])

    async def alist_namespaces(
        self,
        *,
        prefix: NamespacePath | None = None,
        suffix: NamespacePath | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        """Async :meth:`list_namespaces`."""
        op = ListNamespacesOp(_conditions(prefix, suffix), max_depth, limit, offset)
        return (await self.abatch([op]))[0]  # type: ignore[return-value]
