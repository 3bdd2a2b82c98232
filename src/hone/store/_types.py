"""The store's data, shape for shape LangGraph's (``langgraph.store.base``): items, the four
operations a batch holds, and the TTL and index configs.

Items are plain objects with LangGraph's slots, equality and ``dict()``; operations are named
tuples with LangGraph's field names and defaults, so code that builds ``GetOp(...)`` or reads
``item.value`` runs unchanged (and a batch also accepts LangGraph's own op objects).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, NamedTuple, TypeAlias, TypedDict

__all__ = [
    "NOT_PROVIDED",
    "GetOp",
    "IndexConfig",
    "Item",
    "ListNamespacesOp",
    "MatchCondition",
    "NamespaceMatchType",
    "NamespacePath",
    "NotProvided",
    "Op",
    "PutOp",
    "Result",
    "SearchItem",
    "SearchOp",
    "TTLConfig",
]


class NotProvided:
    """The sentinel of an argument left out (``put(..., ttl=NOT_PROVIDED)``: the default TTL)."""

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


#: The one :class:`NotProvided` value.
NOT_PROVIDED = NotProvided()


def _as_datetime(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


class Item:
    """A stored value with its place and times.

    Attributes:
        value: the stored dict (filterable by its fields).
        key: the item's key, unique in its namespace.
        namespace: the item's namespace, a tuple of labels such as ``("users", "42")``.
        created_at: when the key was first put (UTC).
        updated_at: when it was last put (UTC).
    """

    __slots__ = ("created_at", "key", "namespace", "updated_at", "value")

    def __init__(
        self,
        *,
        value: dict[str, Any],
        key: str,
        namespace: tuple[str, ...],
        created_at: datetime | str,
        updated_at: datetime | str,
    ) -> None:
        self.value = value
        self.key = key
        self.namespace = tuple(namespace)
        self.created_at = _as_datetime(created_at)
        self.updated_at = _as_datetime(updated_at)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Item):
            return NotImplemented
        # As LangGraph's: a search hit equals the stored item (the score is not compared).
        return (
            self.value == other.value
            and self.key == other.key
            and self.namespace == other.namespace
            and self.created_at == other.created_at
            and self.updated_at == other.updated_at
        )

    def __hash__(self) -> int:
        return hash((self.namespace, self.key))

    def dict(self) -> dict[str, Any]:
        """The item as JSON-ready data (namespace as a list, times in ISO format)."""
        return {
            "namespace": list(self.namespace),
            "key": self.key,
            "value": self.value,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.dict().items())
        return f"{type(self).__name__}({fields})"


class SearchItem(Item):
    """An item found by :meth:`~hone.store.BaseStore.search`, with its similarity ``score``
    (cosine similarity to the query; None without a query or for an item with no vectors)."""

    __slots__ = ("score",)

    def __init__(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: dict[str, Any],
        created_at: datetime | str,
        updated_at: datetime | str,
        score: float | None = None,
    ) -> None:
        super().__init__(
            value=value, key=key, namespace=namespace, created_at=created_at, updated_at=updated_at
        )
        self.score = score

    def dict(self) -> dict[str, Any]:
        """The item as JSON-ready data, with its score."""
        return {**super().dict(), "score": self.score}


class GetOp(NamedTuple):
    """Read one item: ``namespace`` and ``key``; ``refresh_ttl`` restarts its TTL."""

    namespace: tuple[str, ...]
    key: str
    refresh_ttl: bool = True


class SearchOp(NamedTuple):
    """Find items under ``namespace_prefix``: filtered by ``filter`` (see
    :meth:`~hone.store.BaseStore.search`), ranked by similarity to ``query`` when given, one
    page of ``limit`` items after ``offset``."""

    namespace_prefix: tuple[str, ...]
    filter: dict[str, Any] | None = None
    limit: int = 10
    offset: int = 0
    query: str | None = None
    refresh_ttl: bool = True


#: A namespace pattern for :meth:`~hone.store.BaseStore.list_namespaces`; ``"*"`` matches
#: any one label.
NamespacePath: TypeAlias = tuple[str, ...]

#: Whether a :class:`MatchCondition` matches the start or the end of a namespace.
NamespaceMatchType: TypeAlias = Literal["prefix", "suffix"]


class MatchCondition(NamedTuple):
    """A namespace pattern anchored at the start (``"prefix"``) or the end (``"suffix"``)."""

    match_type: NamespaceMatchType
    path: NamespacePath


class ListNamespacesOp(NamedTuple):
    """List namespaces matching every condition, cut to ``max_depth`` labels, one page."""

    match_conditions: tuple[MatchCondition, ...] | None = None
    max_depth: int | None = None
    limit: int = 100
    offset: int = 0


class PutOp(NamedTuple):
    """Store ``value`` at ``namespace``/``key`` (None deletes it).

    ``index``: None embeds the fields of the store's index config, ``False`` none, a list of
    field paths those fields. ``ttl``: minutes the item lives after its last write or
    refreshing read (None: forever).
    """

    namespace: tuple[str, ...]
    key: str
    value: Mapping[str, Any] | None
    index: Literal[False] | list[str] | None = None  # type: ignore[assignment]
    ttl: float | None = None


#: One operation of a batch.
Op: TypeAlias = GetOp | SearchOp | PutOp | ListNamespacesOp

#: What one operation returns: an item or None (get), items (search), namespaces (list),
#: None (put).
Result: TypeAlias = Item | list[Item] | list[SearchItem] | list[tuple[str, ...]] | None


class TTLConfig(TypedDict, total=False):
    """How items expire (LangGraph's keys).

    Attributes:
        refresh_on_read: whether reads restart an item's TTL unless told otherwise (default
            True).
        default_ttl: minutes an item lives when ``put`` names no ``ttl`` (default: forever).
        sweep_interval_minutes: delete expired rows at most this often, during writes
            (default: only when :meth:`~hone.store.BaseStore.sweep_ttl` is called; expired
            items are never returned either way).
    """

    refresh_on_read: bool
    default_ttl: float | None
    sweep_interval_minutes: int | None


class IndexConfig(TypedDict, total=False):
    """What the store embeds for semantic search (LangGraph's keys).

    Attributes:
        dims: the embedding dimension.
        embed: an :class:`~hone.store.Embedder`, a LangChain ``Embeddings``, a function
            ``list[str] -> list[list[float]]`` (sync or async), or a name: ``"hashing"`` (the
            default) or ``"sentence-transformers"`` (offline all-MiniLM-L6-v2, 384 dims).
        fields: the field paths to embed (``"a.b"``, ``"arr[*].text"``, ``"arr[0]"``,
            ``"arr[-1]"``, ``"{a,b}"``); ``["$"]`` (the default) embeds the whole value.
    """

    dims: int
    embed: Any
    fields: list[str] | None
