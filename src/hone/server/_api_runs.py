"""``/threads/{thread_id}/runs`` and ``/runs``: create runs (in the background, streamed, or
waited for), read, join, cancel and delete them. Stateless runs (``/runs/...``) run on a
thread of their own that is deleted when they end (unless ``on_completion="keep"``).

Concurrent runs on one thread follow the run's ``multitask_strategy``: ``enqueue`` (the
default, as LangGraph's) waits for the runs before it, ``reject`` answers 409 while the
thread has one, ``interrupt`` cancels them first, ``rollback`` cancels and deletes them and
starts from the state before them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse

from hone.graph import START
from hone.server._context import Server, ServerState, User, own_run, own_thread, resolve_assistant
from hone.server._errors import ServerError, bad_request, conflict, not_found
from hone.server._events import sse
from hone.server._json import dumps
from hone.server._models import RunConfigBody, RunCreateBody
from hone.server._records import RunRecord, ThreadRecord, new_uuid
from hone.server._runs import RunHandle

__all__ = ["create_run_record", "router"]

logger = logging.getLogger(__name__)
router = APIRouter(tags=["runs"])

_CANCELLED = {"__error__": {"error": "RunCancelled", "message": "the run was cancelled"}}


def _merge_config(base: dict[str, Any], extra: RunConfigBody | None) -> dict[str, Any]:
    if extra is None:
        return dict(base)
    update = extra.model_dump(exclude_none=True)
    out = {**base, **update}
    for key in ("configurable", "metadata"):
        if key in base or key in update:
            out[key] = {**(base.get(key) or {}), **(update.get(key) or {})}
    if "tags" in base and "tags" in update:
        out["tags"] = [*base["tags"], *update["tags"]]
    return out


def _check_nodes(state: ServerState, graph_id: str, body: RunCreateBody) -> None:
    nodes = set(state.graphs.graph(graph_id).nodes) - {START}
    for field in ("interrupt_before", "interrupt_after"):
        value = getattr(body, field)
        if value is None or value == "*":
            continue
        unknown = sorted(set(value) - nodes)
        if unknown:
            raise bad_request(
                f"{field} names nodes graph {graph_id!r} does not have: {unknown}; "
                f"its nodes are {sorted(nodes)}"
            )


def _kwargs(body: RunCreateBody, config: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    durability = body.durability
    if durability is None and body.checkpoint_during is not None:
        durability = "async" if body.checkpoint_during else "exit"
    checkpoint_id = body.checkpoint_id
    checkpoint_ns = ""
    if body.checkpoint is not None and body.checkpoint.checkpoint_id is not None:
        checkpoint_id = body.checkpoint.checkpoint_id
        checkpoint_ns = body.checkpoint.checkpoint_ns
    return {
        "input": body.input,
        "command": body.command.model_dump(exclude_unset=True, mode="json")
        if body.command is not None
        else None,
        "config": config,
        "context": context,
        "stream_mode": body.modes,
        "stream_subgraphs": body.stream_subgraphs,
        "interrupt_before": body.interrupt_before,
        "interrupt_after": body.interrupt_after,
        "durability": durability,
        "checkpoint_id": checkpoint_id,
        "checkpoint_ns": checkpoint_ns,
        "after_seconds": body.after_seconds,
        "on_completion": body.on_completion or "delete",
    }


async def create_run_record(
    state: ServerState,
    user: str,
    thread_id: str | None,
    body: RunCreateBody,
    *,
    protocol: bool = False,
) -> RunRecord:
    """Store and queue a run (stateless when ``thread_id`` is None). With ``protocol`` it
    streams its events to the thread's event stream (``run.start``) instead of its own.

    Raises:
        ServerError: an unknown assistant or node, a thread that cannot take the run.
    """
    if body.webhook is not None:
        raise bad_request("run webhooks are not supported by hone server", code="unsupported")
    assistant = await resolve_assistant(state, body.assistant_id, user)
    _check_nodes(state, assistant.graph_id, body)
    config = _merge_config(assistant.config, body.config)
    context = {**assistant.context, **(body.context or {})}
    kwargs = _kwargs(body, config, context)
    if protocol:
        kwargs["protocol"] = True
    stateless = thread_id is None
    ident = thread_id or new_uuid()
    async with state.runs.thread_lock(ident):
        if stateless:
            await state.db.insert_thread(
                ThreadRecord(ident, user, metadata={"graph_id": assistant.graph_id})
            )
        else:
            await _admit(state, user, ident, body, kwargs, assistant.graph_id)
        run = RunRecord(
            run_id=new_uuid(),
            thread_id=ident,
            owner=user,
            assistant_id=assistant.assistant_id,
            graph_id=assistant.graph_id,
            kwargs=kwargs,
            metadata=body.metadata or {},
            multitask_strategy=body.multitask_strategy or "enqueue",
            stateless=stateless,
        )
        await state.db.insert_run(run)
        thread = await state.db.get_thread(ident)
        if thread is not None and thread.status != "busy":
            await state.db.save_thread(thread.with_(status="busy"))
        await state.runs.submit(run)
    return run


async def _admit(
    state: ServerState,
    user: str,
    thread_id: str,
    body: RunCreateBody,
    kwargs: dict[str, Any],
    graph_id: str,
) -> None:
    """Check that a run may start on the thread now (creating the thread if asked)."""
    thread = await state.db.get_thread(thread_id)
    if thread is None:
        if body.if_not_exists != "create":
            raise not_found("thread", thread_id)
        thread = ThreadRecord(thread_id, user, metadata={"graph_id": graph_id})
        if not await state.db.insert_thread(thread):
            raise conflict(f"thread {thread_id!r} already exists", code="thread_exists")
    elif thread.owner != user:
        raise not_found("thread", thread_id)
    active = await state.db.active_runs(thread_id)
    strategy = body.multitask_strategy or "enqueue"
    if active and strategy == "reject":
        raise conflict(
            f"thread {thread_id!r} already has a run in progress "
            f"({active[0].run_id}, {active[0].status}); multitask_strategy is 'reject'",
            code="thread_busy",
        )
    if active and strategy in ("interrupt", "rollback"):
        started = [r for r in active if r.status == "running"]
        for run in active:
            await state.runs.cancel(run, action=strategy, wait=True)
        if strategy == "rollback" and started and not kwargs["checkpoint_id"]:
            before = started[0].kwargs.get("start_checkpoint_id")
            if before is None:
                await state.checkpointer.adelete_thread(thread_id)
            else:
                kwargs["checkpoint_id"] = before
        thread = await state.db.get_thread(thread_id) or thread
        active = []
    command = body.command
    if (
        not active
        and command is not None
        and "resume" in command.model_fields_set
        and thread.status != "interrupted"
    ):
        raise conflict(
            f"thread {thread_id!r} is {thread.status}, not interrupted: there is nothing to resume",
            code="thread_not_interrupted",
        )


def _locations(run: RunRecord) -> dict[str, str]:
    if run.stateless:
        return {"Content-Location": f"/runs/{run.run_id}"}
    base = f"/threads/{run.thread_id}/runs/{run.run_id}"
    return {"Content-Location": base}


def _cancel_later(state: ServerState, run: RunRecord) -> None:
    async def cancel() -> None:
        fresh = await state.db.get_run(run.run_id)
        if fresh is not None and fresh.status in ("pending", "running"):
            await state.runs.cancel(fresh, action="interrupt", wait=False)
        elif fresh is None and run.stateless:
            handle = state.runs.handle(run.run_id)
            if handle is not None and not handle.done.is_set():
                await state.runs.cancel(run, action="interrupt", wait=False)

    task = asyncio.get_running_loop().create_task(cancel())
    task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)


def _wanted(event: str, modes: set[str] | None) -> bool:
    if modes is None or event in ("metadata", "error", "end"):
        return True
    base = event.split("|", 1)[0]
    if base == "messages":
        return "messages-tuple" in modes
    if base.startswith("messages/"):
        return "messages" in modes
    return base in modes


async def _events(
    state: ServerState,
    run: RunRecord,
    *,
    after: int = 0,
    modes: set[str] | None = None,
    cancel_on_disconnect: bool,
) -> AsyncIterator[bytes]:
    finished = False
    try:
        log = state.logs.get(run.run_id)
        if log is not None:
            async for item in log.follow(after=after, keepalive=state.config.keepalive_s):
                if item is None:
                    yield b": keepalive\n\n"
                    continue
                number, event, data = item
                if _wanted(event, modes):
                    yield sse(event, data, number)
        yield sse("end", "null", None)
        finished = True
    finally:
        if not finished and cancel_on_disconnect:
            _cancel_later(state, run)


def _stream_response(
    state: ServerState, run: RunRecord, body: RunCreateBody, *, default_disconnect: str
) -> StreamingResponse:
    headers = {**_locations(run), "Cache-Control": "no-store"}
    if not run.stateless:
        headers["Location"] = f"/threads/{run.thread_id}/runs/{run.run_id}/stream"
    cancel = (body.on_disconnect or default_disconnect) == "cancel"
    return StreamingResponse(
        _events(state, run, cancel_on_disconnect=cancel),
        media_type="text/event-stream",
        headers=headers,
    )


async def _output(state: ServerState, run: RunRecord, handle: RunHandle | None) -> Any:
    if handle is not None and handle.output is not None:
        return handle.output
    fresh = await state.db.get_run(run.run_id)
    if fresh is not None and fresh.output is not None:
        return fresh.output
    if (handle is not None and handle.status == "interrupted") or (
        fresh is not None and fresh.status == "interrupted"
    ):
        return _CANCELLED
    return {}


async def _wait_body(
    state: ServerState, run: RunRecord, *, cancel_on_disconnect: bool
) -> AsyncIterator[bytes]:
    handle = state.runs.handle(run.run_id)
    finished = False
    try:
        while handle is not None and not handle.done.is_set():
            try:
                await asyncio.wait_for(handle.done.wait(), timeout=state.config.keepalive_s)
            except TimeoutError:
                yield b"\n"  # leading whitespace is valid JSON: keeps proxies from timing out
        yield dumps(await _output(state, run, handle)).encode()
        finished = True
    finally:
        if not finished and cancel_on_disconnect:
            _cancel_later(state, run)


def _wait_response(
    state: ServerState, run: RunRecord, body: RunCreateBody, *, default_disconnect: str
) -> StreamingResponse:
    headers = _locations(run)
    if not run.stateless:
        headers["Location"] = f"/threads/{run.thread_id}/runs/{run.run_id}/join"
    cancel = (body.on_disconnect or default_disconnect) == "cancel"
    return StreamingResponse(
        _wait_body(state, run, cancel_on_disconnect=cancel),
        media_type="application/json",
        headers=headers,
    )


# ----------------------------------------------------------------------------- on a thread


@router.post("/threads/{thread_id}/runs", summary="Create a run in the background")
async def create_run(
    thread_id: str, body: RunCreateBody, state: Server, user: User, response: Response
) -> Any:
    run = await create_run_record(state, user, thread_id, body)
    response.headers.update(_locations(run))
    return run.to_api()


@router.post(
    "/threads/{thread_id}/runs/stream",
    summary="Create a run and stream its events (SSE)",
    response_class=StreamingResponse,
)
async def stream_run(
    thread_id: str, body: RunCreateBody, state: Server, user: User
) -> StreamingResponse:
    run = await create_run_record(state, user, thread_id, body)
    return _stream_response(state, run, body, default_disconnect="continue")


@router.post("/threads/{thread_id}/runs/wait", summary="Create a run and wait for its output")
async def wait_run(
    thread_id: str, body: RunCreateBody, state: Server, user: User
) -> StreamingResponse:
    run = await create_run_record(state, user, thread_id, body)
    return _wait_response(state, run, body, default_disconnect="continue")


@router.get("/threads/{thread_id}/runs", summary="List a thread's runs")
async def list_runs(
    thread_id: str,
    state: Server,
    user: User,
    limit: int = Query(10, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    status: str | None = Query(None, max_length=32),
    select: list[str] | None = Query(None),  # noqa: B008
) -> Any:
    await own_thread(state, thread_id, user)
    runs = [
        r.to_api()
        for r in await state.db.list_runs(thread_id, limit=limit, offset=offset, status=status)
    ]
    if select:
        runs = [{k: v for k, v in r.items() if k in select} for r in runs]
    return runs


@router.get("/threads/{thread_id}/runs/{run_id}", summary="Get a run")
async def get_run(thread_id: str, run_id: str, state: Server, user: User) -> Any:
    return (await own_run(state, thread_id, run_id, user)).to_api()


@router.delete("/threads/{thread_id}/runs/{run_id}", status_code=204, summary="Delete a run")
async def delete_run(thread_id: str, run_id: str, state: Server, user: User) -> Response:
    run = await own_run(state, thread_id, run_id, user)
    if run.status in ("pending", "running"):
        raise conflict(f"run {run_id!r} is {run.status}; cancel it first", code="run_active")
    await state.db.delete_run(run_id)
    state.logs.drop(run_id)
    return Response(status_code=204)


@router.post("/threads/{thread_id}/runs/{run_id}/cancel", status_code=204, summary="Cancel a run")
async def cancel_run(
    thread_id: str,
    run_id: str,
    state: Server,
    user: User,
    wait: bool = False,
    action: str = Query("interrupt", pattern="^(interrupt|rollback)$"),
) -> Response:
    run = await own_run(state, thread_id, run_id, user)
    if run.status not in ("pending", "running"):
        raise conflict(
            f"run {run_id!r} is {run.status}; only active runs can be cancelled",
            code="run_not_active",
        )
    await state.runs.cancel(run, action=action, wait=wait)  # type: ignore[arg-type]
    return Response(status_code=204)


@router.get("/threads/{thread_id}/runs/{run_id}/join", summary="Wait for a run's output")
async def join_run(thread_id: str, run_id: str, state: Server, user: User) -> StreamingResponse:
    run = await own_run(state, thread_id, run_id, user)
    return StreamingResponse(
        _wait_body(state, run, cancel_on_disconnect=False),
        media_type="application/json",
        headers=_locations(run),
    )


@router.get(
    "/threads/{thread_id}/runs/{run_id}/stream",
    summary="Stream a run's events (SSE), from the start or after Last-Event-ID",
    response_class=StreamingResponse,
)
async def join_stream(
    thread_id: str,
    run_id: str,
    state: Server,
    user: User,
    stream_mode: list[str] | None = Query(None),  # noqa: B008
    cancel_on_disconnect: bool = False,
    last_event_id: str | None = Header(None, max_length=32),
) -> StreamingResponse:
    run = await own_run(state, thread_id, run_id, user)
    after = 0
    if last_event_id:
        try:
            after = int(last_event_id)
        except ValueError:
            raise bad_request(
                f"Last-Event-ID must be an event number, got {last_event_id!r}"
            ) from None
    modes = {m for m in stream_mode or () if m} or None
    return StreamingResponse(
        _events(state, run, after=after, modes=modes, cancel_on_disconnect=cancel_on_disconnect),
        media_type="text/event-stream",
        headers={**_locations(run), "Location": f"/threads/{thread_id}/runs/{run_id}/stream"},
    )


# ----------------------------------------------------------------------------- stateless


@router.post("/runs", summary="Create a stateless run in the background")
async def create_stateless(
    body: RunCreateBody, state: Server, user: User, response: Response
) -> Any:
    run = await create_run_record(state, user, None, body)
    response.headers.update(_locations(run))
    return run.to_api()


@router.post(
    "/runs/stream",
    summary="Create a stateless run and stream its events (SSE)",
    response_class=StreamingResponse,
)
async def stream_stateless(body: RunCreateBody, state: Server, user: User) -> StreamingResponse:
    run = await create_run_record(state, user, None, body)
    return _stream_response(state, run, body, default_disconnect="cancel")


@router.post("/runs/wait", summary="Create a stateless run and wait for its output")
async def wait_stateless(body: RunCreateBody, state: Server, user: User) -> StreamingResponse:
    run = await create_run_record(state, user, None, body)
    return _wait_response(state, run, body, default_disconnect="cancel")


@router.post("/runs/cancel", status_code=204, summary="Cancel several runs")
async def cancel_many(
    body: dict[str, Any],
    state: Server,
    user: User,
    action: str = Query("interrupt", pattern="^(interrupt|rollback)$"),
) -> Response:
    thread_id = body.get("thread_id")
    run_ids = body.get("run_ids")
    status = body.get("status")
    if status not in (None, "pending", "running", "all"):
        raise bad_request(f"status is 'pending', 'running' or 'all', got {status!r}")
    if run_ids is not None and not (
        isinstance(run_ids, list) and all(isinstance(r, str) for r in run_ids)
    ):
        raise bad_request("run_ids must be a list of run ids")
    if thread_id is not None and not isinstance(thread_id, str):
        raise bad_request("thread_id must be a string")
    statuses = ["pending", "running"] if status in (None, "all") else [status]
    if thread_id is not None:
        await own_thread(state, thread_id, user)
    candidates = await state.db.runs_with_status(statuses, thread_id=thread_id)
    chosen = [r for r in candidates if r.owner == user and (run_ids is None or r.run_id in run_ids)]
    if run_ids is not None and thread_id is None and not chosen and status is None:
        raise ServerError(404, "none of run_ids is an active run of yours", code="run_not_found")
    for run in chosen:
        with contextlib.suppress(Exception):
            await state.runs.cancel(run, action=action, wait=False)  # type: ignore[arg-type]
    return Response(status_code=204)
