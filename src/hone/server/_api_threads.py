"""``/threads``: conversations, each owned by the user who made it, with their state, state
updates and checkpoint history (read through the thread's graph)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Query, Response

from hone.errors import HoneError
from hone.graph import CompiledGraph, StateUpdate
from hone.server._context import Server, ServerState, User, own_thread
from hone.server._db import SearchQuery
from hone.server._errors import ServerError, bad_request, conflict
from hone.server._json import jsonable
from hone.server._models import (
    CheckpointBody,
    HistoryBody,
    StateAtCheckpointBody,
    StateUpdateBody,
    ThreadCountBody,
    ThreadCreateBody,
    ThreadPatchBody,
    ThreadSearchBody,
)
from hone.server._records import ThreadRecord, new_uuid
from hone.server._state import (
    checkpoint_json,
    empty_state,
    interrupts_by_task,
    select_fields,
    snapshot_json,
)

__all__ = ["router"]

logger = logging.getLogger(__name__)
router = APIRouter(tags=["threads"])

#: What a graph raises for an update or a checkpoint a client got wrong.
_CLIENT_MISTAKES = (HoneError, ValueError, KeyError, TypeError)


def _graph_of(state: ServerState, thread: ThreadRecord) -> tuple[str, CompiledGraph] | None:
    graph_id = thread.graph_id or thread.metadata.get("graph_id")
    if isinstance(graph_id, str) and graph_id in state.graphs:
        return graph_id, state.graphs.graph(graph_id)
    return None


def _config(thread_id: str, checkpoint: CheckpointBody | None = None) -> dict[str, Any]:
    conf: dict[str, Any] = {"thread_id": thread_id}
    if checkpoint is not None:
        conf["checkpoint_ns"] = checkpoint.checkpoint_ns
        if checkpoint.checkpoint_id is not None:
            conf["checkpoint_id"] = checkpoint.checkpoint_id
        if checkpoint.checkpoint_map is not None:
            conf["checkpoint_map"] = checkpoint.checkpoint_map
    return {"configurable": conf}


def _refused(exc: Exception) -> ServerError:
    logger.info("state request refused: %s: %s", type(exc).__name__, exc)
    return bad_request(f"{type(exc).__name__}: {exc}", code="invalid_state_request")


async def _not_busy(state: ServerState, thread_id: str) -> None:
    if await state.db.active_runs(thread_id):
        raise conflict(
            f"thread {thread_id!r} has a run in progress; wait for it or cancel it first",
            code="thread_busy",
        )


@router.post("/threads", summary="Create a thread")
async def create_thread(body: ThreadCreateBody, state: Server, user: User) -> Any:
    if body.ttl is not None:
        raise bad_request("thread TTLs are not supported by hone server", code="unsupported")
    thread_id = body.thread_id or new_uuid()
    record = ThreadRecord(thread_id=thread_id, owner=user, metadata=body.metadata or {})
    if not await state.db.insert_thread(record):
        existing = await state.db.get_thread(thread_id)
        if body.if_exists == "do_nothing" and existing is not None and existing.owner == user:
            return existing.to_api()
        raise conflict(f"thread {thread_id!r} already exists", code="thread_exists")
    if body.supersteps:
        record = await _apply_supersteps(state, record, body.supersteps)
    return record.to_api()


async def _apply_supersteps(
    state: ServerState, record: ThreadRecord, supersteps: list[dict[str, Any]]
) -> ThreadRecord:
    found = _graph_of(state, record)
    if found is None:
        await state.db.delete_thread(record.thread_id)
        raise bad_request(
            "a thread created with supersteps needs metadata.graph_id naming a graph of "
            f"this server ({sorted(state.graphs.ids)})"
        )
    graph_id, graph = found
    try:
        steps = [
            [
                StateUpdate(u.get("values"), u.get("as_node"))
                for u in (step.get("updates") or [])
                if _no_command(u)
            ]
            for step in supersteps
        ]
        await graph.abulk_update_state(_config(record.thread_id), steps)
        snapshot = await graph.aget_state(_config(record.thread_id))
    except _CLIENT_MISTAKES as exc:
        await state.db.delete_thread(record.thread_id)
        await state.checkpointer.adelete_thread(record.thread_id)
        raise _refused(exc) from exc
    record = record.with_(
        graph_id=graph_id,
        values=jsonable(snapshot.values),
        interrupts=interrupts_by_task(snapshot),
        status="interrupted" if snapshot.next else "idle",
    )
    await state.db.save_thread(record)
    return record


def _no_command(update: dict[str, Any]) -> bool:
    if update.get("command") is not None:
        raise bad_request("commands in supersteps are not supported; use values and as_node")
    return True


@router.post("/threads/search", summary="List threads")
async def search_threads(body: ThreadSearchBody, state: Server, user: User) -> Any:
    if body.extract:
        raise bad_request("thread search 'extract' is not supported by hone server")
    query = SearchQuery(
        owner=user,
        metadata=body.metadata,
        values=body.values,
        ids=body.ids,
        status=body.status,
        limit=body.limit,
        offset=body.offset,
        sort_by=body.sort_by or "created_at",
        sort_order=body.sort_order or "desc",
    )
    threads = [t.to_api() for t in await state.db.search_threads(query)]
    if body.select:
        threads = [{k: v for k, v in t.items() if k in body.select} for t in threads]
    return threads


@router.post("/threads/count", summary="Count threads")
async def count_threads(body: ThreadCountBody, state: Server, user: User) -> int:
    query = SearchQuery(owner=user, metadata=body.metadata, values=body.values, status=body.status)
    return await state.db.count_threads(query)


@router.get("/threads/{thread_id}", summary="Get a thread")
async def get_thread(thread_id: str, state: Server, user: User) -> Any:
    return (await own_thread(state, thread_id, user)).to_api()


@router.patch("/threads/{thread_id}", summary="Update a thread's metadata")
async def patch_thread(
    thread_id: str, body: ThreadPatchBody, state: Server, user: User, response: Response
) -> Any:
    if body.ttl is not None:
        raise bad_request("thread TTLs are not supported by hone server", code="unsupported")
    thread = await own_thread(state, thread_id, user)
    thread = thread.with_(metadata={**thread.metadata, **body.metadata})
    await state.db.save_thread(thread)
    return thread.to_api()


@router.delete("/threads/{thread_id}", status_code=204, summary="Delete a thread")
async def delete_thread(thread_id: str, state: Server, user: User) -> Response:
    await own_thread(state, thread_id, user)
    for run in await state.db.active_runs(thread_id):
        await state.runs.cancel(run, action="interrupt", wait=True)
    await state.db.delete_thread(thread_id)
    await state.checkpointer.adelete_thread(thread_id)
    state.runs.thread_events.drop(thread_id)
    return Response(status_code=204)


def _no_checkpoint(thread_id: str, checkpoint_id: str) -> ServerError:
    return ServerError(
        404,
        f"checkpoint {checkpoint_id!r} not found in thread {thread_id!r}",
        code="checkpoint_not_found",
    )


async def _state_json(
    state: ServerState,
    thread: ThreadRecord,
    checkpoint: CheckpointBody | None,
    *,
    subgraphs: bool,
    select: list[str] | None,
) -> Any:
    found = _graph_of(state, thread)
    if found is None:
        if checkpoint is not None and checkpoint.checkpoint_id:
            raise _no_checkpoint(thread.thread_id, checkpoint.checkpoint_id)
        return select_fields(empty_state(thread.thread_id), select)
    _, graph = found
    try:
        snapshot = await graph.aget_state(
            _config(thread.thread_id, checkpoint), subgraphs=subgraphs
        )
    except _CLIENT_MISTAKES as exc:
        raise _refused(exc) from exc
    if checkpoint is not None and checkpoint.checkpoint_id and snapshot.created_at is None:
        raise _no_checkpoint(thread.thread_id, checkpoint.checkpoint_id)
    return select_fields(snapshot_json(snapshot), select)


@router.get("/threads/{thread_id}/state", summary="Get a thread's state")
async def get_state(
    thread_id: str,
    state: Server,
    user: User,
    subgraphs: bool = False,
    select: list[str] | None = Query(None),  # noqa: B008
) -> Any:
    thread = await own_thread(state, thread_id, user)
    return await _state_json(state, thread, None, subgraphs=subgraphs, select=select)


@router.get("/threads/{thread_id}/state/{checkpoint_id}", summary="Get a thread's past state")
async def get_state_at(
    thread_id: str,
    checkpoint_id: str,
    state: Server,
    user: User,
    subgraphs: bool = False,
    select: list[str] | None = Query(None),  # noqa: B008
) -> Any:
    thread = await own_thread(state, thread_id, user)
    checkpoint = CheckpointBody(checkpoint_id=checkpoint_id)
    return await _state_json(state, thread, checkpoint, subgraphs=subgraphs, select=select)


@router.post(
    "/threads/{thread_id}/state/checkpoint", summary="Get a thread's state at a checkpoint"
)
async def post_state_at(
    thread_id: str, body: StateAtCheckpointBody, state: Server, user: User
) -> Any:
    thread = await own_thread(state, thread_id, user)
    return await _state_json(
        state, thread, body.checkpoint, subgraphs=body.subgraphs, select=body.select
    )


@router.post("/threads/{thread_id}/state", summary="Update a thread's state")
async def update_state(thread_id: str, body: StateUpdateBody, state: Server, user: User) -> Any:
    thread = await own_thread(state, thread_id, user)
    found = _graph_of(state, thread)
    if found is None:
        raise conflict(
            f"thread {thread_id!r} has no graph yet: run an assistant on it first, or "
            "create it with metadata.graph_id",
            code="thread_has_no_graph",
        )
    graph_id, graph = found
    await _not_busy(state, thread_id)
    checkpoint = body.checkpoint
    if checkpoint is None and body.checkpoint_id is not None:
        checkpoint = CheckpointBody(checkpoint_id=body.checkpoint_id)
    try:
        config = await graph.aupdate_state(
            _config(thread_id, checkpoint), body.values, as_node=body.as_node
        )
        snapshot = await graph.aget_state(_config(thread_id))
    except _CLIENT_MISTAKES as exc:
        raise _refused(exc) from exc
    await state.db.save_thread(
        thread.with_(
            graph_id=graph_id,
            values=jsonable(snapshot.values),
            interrupts=interrupts_by_task(snapshot),
            status="interrupted" if snapshot.next else "idle",
        )
    )
    return {"checkpoint": checkpoint_json(config)}


async def _history(
    state: ServerState, thread: ThreadRecord, body: HistoryBody
) -> list[dict[str, Any]]:
    found = _graph_of(state, thread)
    if found is None:
        return []
    _, graph = found
    before = body.before
    before_config = None
    if isinstance(before, str):
        before_config = _config(thread.thread_id, CheckpointBody(checkpoint_id=before))
    elif before is not None:
        before_config = _config(thread.thread_id, before)
    try:
        return [
            select_fields(snapshot_json(s), body.select)
            async for s in graph.aget_state_history(
                _config(thread.thread_id, body.checkpoint),
                filter=body.metadata,
                before=before_config,
                limit=body.limit,
            )
        ]
    except _CLIENT_MISTAKES as exc:
        raise _refused(exc) from exc


@router.post("/threads/{thread_id}/history", summary="List a thread's past states")
async def post_history(thread_id: str, body: HistoryBody, state: Server, user: User) -> Any:
    thread = await own_thread(state, thread_id, user)
    return await _history(state, thread, body)


@router.get("/threads/{thread_id}/history", summary="List a thread's past states")
async def get_history(
    thread_id: str,
    state: Server,
    user: User,
    limit: int = Query(10, ge=1, le=1000),
    before: str | None = Query(None, max_length=256),
) -> Any:
    thread = await own_thread(state, thread_id, user)
    return await _history(state, thread, HistoryBody(limit=limit, before=before))
