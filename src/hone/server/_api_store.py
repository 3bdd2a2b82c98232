"""``/store``: the long-term store (:mod:`hone.store`) the graphs use, over HTTP.

With auth and ``store_scope="user"`` (the default) a caller reaches only namespaces whose
first label is their user id, as LangGraph's docs advise graphs to lay out per-user memory;
other namespaces answer 403. Namespaces travel as lists of labels, except in ``GET
/store/items`` where they are dot-joined (``?namespace=users.alice``), as the SDK sends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Query, Response

from hone.errors import HoneError
from hone.server._context import Server, ServerState, User
from hone.server._errors import ServerError, bad_request
from hone.server._models import (
    StoreDeleteBody,
    StoreNamespacesBody,
    StorePutBody,
    StoreSearchBody,
)

__all__ = ["router"]

router = APIRouter(tags=["store"])


def _scoped(state: ServerState) -> bool:
    return state.auth.enabled and state.config.store_scope == "user"


def _check(state: ServerState, namespace: Sequence[str], user: str) -> tuple[str, ...]:
    labels = tuple(namespace)
    if _scoped(state) and (not labels or labels[0] != user):
        raise ServerError(
            403,
            f"namespace {list(labels)} is outside your namespaces: they start with {user!r}",
            code="namespace_forbidden",
        )
    return labels


def _prefix(state: ServerState, prefix: Sequence[str] | None, user: str) -> tuple[str, ...]:
    labels = tuple(prefix or ())
    if not _scoped(state):
        return labels
    if not labels:
        return (user,)
    return _check(state, labels, user)


def _refused(exc: Exception) -> ServerError:
    return bad_request(f"{type(exc).__name__}: {exc}", code="invalid_store_request")


@router.put("/store/items", status_code=204, summary="Store an item")
async def put_item(body: StorePutBody, state: Server, user: User) -> Response:
    namespace = _check(state, body.namespace, user)
    try:
        await state.store.aput(namespace, body.key, body.value, body.index, ttl=body.ttl)
    except (HoneError, ValueError, NotImplementedError) as exc:
        raise _refused(exc) from exc
    return Response(status_code=204)


@router.get("/store/items", summary="Get an item")
async def get_item(
    state: Server,
    user: User,
    key: str = Query(min_length=1, max_length=256),
    namespace: str = Query("", max_length=4096),
    refresh_ttl: bool | None = None,
) -> Any:
    labels = tuple(namespace.split(".")) if namespace else ()
    try:
        item = await state.store.aget(_check(state, labels, user), key, refresh_ttl=refresh_ttl)
    except (HoneError, ValueError) as exc:
        raise _refused(exc) from exc
    if item is None:
        raise ServerError(
            404, f"no item {key!r} in namespace {list(labels)}", code="item_not_found"
        )
    return item.dict()


@router.delete("/store/items", status_code=204, summary="Delete an item")
async def delete_item(body: StoreDeleteBody, state: Server, user: User) -> Response:
    try:
        await state.store.adelete(_check(state, body.namespace, user), body.key)
    except (HoneError, ValueError) as exc:
        raise _refused(exc) from exc
    return Response(status_code=204)


@router.post("/store/items/search", summary="Search items")
async def search_items(body: StoreSearchBody, state: Server, user: User) -> Any:
    try:
        items = await state.store.asearch(
            _prefix(state, body.namespace_prefix, user),
            query=body.query,
            filter=body.filter,
            limit=body.limit,
            offset=body.offset,
            refresh_ttl=body.refresh_ttl,
        )
    except (HoneError, ValueError) as exc:
        raise _refused(exc) from exc
    return {"items": [item.dict() for item in items]}


@router.post("/store/namespaces", summary="List namespaces")
async def list_namespaces(body: StoreNamespacesBody, state: Server, user: User) -> Any:
    try:
        namespaces = await state.store.alist_namespaces(
            prefix=_prefix(state, body.prefix, user) or None,
            suffix=tuple(body.suffix) if body.suffix else None,
            max_depth=body.max_depth,
            limit=body.limit,
            offset=body.offset,
        )
    except (HoneError, ValueError) as exc:
        raise _refused(exc) from exc
    return {"namespaces": [list(ns) for ns in namespaces]}
