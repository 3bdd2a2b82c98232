"""``/assistants``: the graphs' default assistants and those clients create (a graph with
a config, context and metadata). hone keeps each assistant's latest version only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response

from hone.server._context import Server, ServerState, User, resolve_assistant
from hone.server._db import SearchQuery
from hone.server._errors import ServerError, conflict, not_found
from hone.server._graphs import graph_json, graph_schemas
from hone.server._models import (
    AssistantCountBody,
    AssistantCreateBody,
    AssistantPatchBody,
    AssistantSearchBody,
    AssistantVersionsBody,
    RunConfigBody,
)
from hone.server._records import AssistantRecord, new_uuid, now

__all__ = ["router"]

router = APIRouter(tags=["assistants"])


def _config(body: RunConfigBody | None) -> dict[str, Any]:
    return body.model_dump(exclude_none=True) if body is not None else {}


def _check_graph(state: ServerState, graph_id: str) -> None:
    if graph_id not in state.graphs:
        raise ServerError(
            404,
            f"graph {graph_id!r} not found; this server has {sorted(state.graphs.ids)}",
            code="graph_not_found",
        )


def _writable(record: AssistantRecord, user: str) -> None:
    if record.owner is None:
        raise ServerError(
            403,
            f"assistant {record.assistant_id!r} is graph {record.graph_id!r}'s default "
            "assistant, which cannot be changed; create an assistant of your own",
            code="read_only_assistant",
        )


def _xray(value: str) -> bool:
    text = value.strip().lower()
    if text in ("", "false", "0", "no"):
        return False
    if text in ("true", "yes") or text.isdigit():
        return True
    raise ServerError(422, f"xray must be a boolean or a depth, got {value!r}")


@router.post("/assistants", summary="Create an assistant")
async def create_assistant(body: AssistantCreateBody, state: Server, user: User) -> Any:
    _check_graph(state, body.graph_id)
    ident = body.assistant_id or new_uuid()
    existing = await state.db.get_assistant(ident)
    if existing is not None or ident in state.graphs:
        visible = existing is not None and existing.owner in (None, user)
        if body.if_exists == "do_nothing" and visible and existing is not None:
            return existing.to_api()
        raise conflict(f"assistant {ident!r} already exists", code="assistant_exists")
    record = AssistantRecord(
        assistant_id=ident,
        graph_id=body.graph_id,
        name=body.name or body.graph_id,
        description=body.description,
        config=_config(body.config),
        context=body.context or {},
        metadata=body.metadata or {},
        owner=user,
    )
    await state.db.put_assistant(record)
    return record.to_api()


@router.post("/assistants/search", summary="List assistants")
async def search_assistants(
    body: AssistantSearchBody, state: Server, user: User, response: Response
) -> Any:
    query = SearchQuery(
        owner=user,
        metadata=body.metadata,
        graph_id=body.graph_id,
        name=body.name,
        limit=body.limit + 1,
        offset=body.offset,
        sort_by=body.sort_by or "created_at",
        sort_order=body.sort_order or "desc",
    )
    found = await state.db.search_assistants(query)
    if len(found) > body.limit:
        response.headers["X-Pagination-Next"] = str(body.offset + body.limit)
    items = [a.to_api() for a in found[: body.limit]]
    if body.select:
        items = [{k: v for k, v in a.items() if k in body.select} for a in items]
    return items


@router.post("/assistants/count", summary="Count assistants")
async def count_assistants(body: AssistantCountBody, state: Server, user: User) -> int:
    query = SearchQuery(owner=user, metadata=body.metadata, graph_id=body.graph_id, name=body.name)
    return await state.db.count_assistants(query)


@router.get("/assistants/{assistant_id}", summary="Get an assistant")
async def get_assistant(assistant_id: str, state: Server, user: User) -> Any:
    return (await resolve_assistant(state, assistant_id, user)).to_api()


@router.patch("/assistants/{assistant_id}", summary="Update an assistant")
async def patch_assistant(
    assistant_id: str, body: AssistantPatchBody, state: Server, user: User
) -> Any:
    record = await resolve_assistant(state, assistant_id, user)
    _writable(record, user)
    if body.graph_id is not None:
        _check_graph(state, body.graph_id)
    changed = AssistantRecord(
        assistant_id=record.assistant_id,
        graph_id=body.graph_id or record.graph_id,
        name=body.name or record.name,
        description=body.description if body.description is not None else record.description,
        config=_config(body.config) if body.config is not None else record.config,
        context=body.context if body.context is not None else record.context,
        metadata={**record.metadata, **(body.metadata or {})},
        version=record.version + 1,
        owner=record.owner,
        created_at=record.created_at,
        updated_at=now(),
    )
    await state.db.put_assistant(changed)
    return changed.to_api()


@router.delete("/assistants/{assistant_id}", status_code=204, summary="Delete an assistant")
async def delete_assistant(assistant_id: str, state: Server, user: User) -> Response:
    record = await resolve_assistant(state, assistant_id, user)
    _writable(record, user)
    await state.db.delete_assistant(record.assistant_id)
    return Response(status_code=204)


@router.post("/assistants/{assistant_id}/versions", summary="List an assistant's versions")
async def assistant_versions(
    assistant_id: str, body: AssistantVersionsBody, state: Server, user: User
) -> Any:
    record = await resolve_assistant(state, assistant_id, user)
    matches = all(record.metadata.get(k) == v for k, v in (body.metadata or {}).items())
    return [record.to_api()] if matches and body.offset == 0 else []


@router.post("/assistants/{assistant_id}/latest", summary="Set an assistant's version")
async def set_latest(assistant_id: str, body: dict[str, int], state: Server, user: User) -> Any:
    record = await resolve_assistant(state, assistant_id, user)
    version = body.get("version")
    if version != record.version:
        raise not_found("assistant version", f"{assistant_id}@{version}")
    return record.to_api()


@router.get("/assistants/{assistant_id}/graph", summary="Get an assistant's graph")
async def assistant_graph(
    assistant_id: str, state: Server, user: User, xray: str = Query("false", max_length=16)
) -> Any:
    record = await resolve_assistant(state, assistant_id, user)
    return graph_json(state.graphs.graph(record.graph_id), xray=_xray(xray))


@router.get("/assistants/{assistant_id}/schemas", summary="Get an assistant's schemas")
async def assistant_schemas(assistant_id: str, state: Server, user: User) -> Any:
    record = await resolve_assistant(state, assistant_id, user)
    return graph_schemas(record.graph_id, state.graphs.graph(record.graph_id))


@router.get("/assistants/{assistant_id}/subgraphs", summary="Get an assistant's subgraphs")
async def assistant_subgraphs(
    assistant_id: str, state: Server, user: User, recurse: bool = False
) -> Any:
    return await _subgraphs(state, assistant_id, user, None, recurse)


@router.get(
    "/assistants/{assistant_id}/subgraphs/{namespace}",
    summary="Get one of an assistant's subgraphs",
)
async def assistant_subgraph(
    assistant_id: str, namespace: str, state: Server, user: User, recurse: bool = False
) -> Any:
    return await _subgraphs(state, assistant_id, user, namespace, recurse)


async def _subgraphs(
    state: ServerState, assistant_id: str, user: str, namespace: str | None, recurse: bool
) -> dict[str, Any]:
    record = await resolve_assistant(state, assistant_id, user)
    graph = state.graphs.graph(record.graph_id)
    return {
        ns: graph_schemas(record.graph_id, sub)
        for ns, sub in graph.get_subgraphs(namespace=namespace, recurse=recurse)
    }
