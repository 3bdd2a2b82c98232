"""Event streaming over the wire (LangGraph's thread stream protocol, v3): what
``client.threads.stream(...)`` in LangGraph's SDK and ``RemoteGraph.stream_events(...,
version="v3")`` speak.

* ``POST /threads/{thread_id}/commands``: one command ``{"id", "method", "params"}``, answered
  ``{"type": "success", "id", "result"}`` or ``{"type": "error", "id", "error", "message"}``.
  ``run.start`` starts a run on the thread (creating the thread), or resumes it when the
  thread waits at an interrupt (the input is the answer); ``input.respond`` answers
  interrupts by id; ``state.get`` and ``state.listCheckpoints`` read the thread;
  ``state.fork`` runs from an earlier checkpoint; ``agent.getTree`` nests the latest run's
  graph and subgraphs with their status.
* ``POST /threads/{thread_id}/stream/events``: the thread's events as SSE, filtered by
  ``channels``, ``namespaces`` (prefixes) and ``depth``, from the start of the latest run or
  after ``since`` (a ``seq``), then live (see :mod:`hone.server._thread_events`).
* ``WebSocket /threads/{thread_id}/stream/events``: the same events over a WebSocket; the
  client sends ``subscription.subscribe`` (the same filter as the SSE body) and
  ``subscription.unsubscribe`` commands, each answered, and receives every event that one
  of its subscriptions takes, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError

from hone.server._api_runs import create_run_record
from hone.server._context import Server, ServerState, User, own_thread
from hone.server._errors import ServerError
from hone.server._json import jsonable
from hone.server._models import CommandBody, RunConfigBody, RunCreateBody
from hone.server._wire import CHANNELS, agent_tree, matches

__all__ = ["router", "thread_websocket"]

router = APIRouter(tags=["event streaming"])

#: Commands of the protocol hone's server does not carry out.
_NOT_SUPPORTED = frozenset(
    (
        "subscription.subscribe",
        "subscription.unsubscribe",
        "subscription.reconnect",
        "input.inject",
    )
)


class _CommandError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _error_body(ident: Any, code: str, message: str) -> dict[str, Any]:
    # The protocol's error envelope; ``detail`` too, as every error of the server has.
    return {
        "type": "error",
        "id": ident,
        "error": code,
        "message": message,
        "detail": message,
        "code": code,
    }


def _error(ident: Any, code: str, message: str, status: int = 200) -> JSONResponse:
    return JSONResponse(_error_body(ident, code, message), status_code=status)


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI request body of an endpoint that reads its JSON itself (to answer bad
    bodies in the protocol's own terms)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_COMMAND = {
    "type": "object",
    "required": ["id", "method"],
    "properties": {
        "id": {"type": "integer", "minimum": 0},
        "method": {"type": "string"},
        "params": {"type": "object"},
    },
}
_STREAM = {
    "type": "object",
    "required": ["channels"],
    "properties": {
        "channels": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "namespaces": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
        "depth": {"type": "integer", "minimum": 0},
        "since": {"type": "integer", "minimum": 0},
    },
}


@router.post(
    "/threads/{thread_id}/commands",
    summary="Run an event-streaming command",
    openapi_extra=_body(_COMMAND),
)
async def command(thread_id: str, request: Request, state: Server, user: User) -> Any:
    try:
        payload = await request.json()
    except ValueError:
        return _error(None, "invalid_argument", "the body is not JSON", 400)
    if (
        not isinstance(payload, dict)
        or type(payload.get("id")) is not int
        or not isinstance(payload.get("method"), str)
    ):
        ident = payload.get("id") if isinstance(payload, dict) else None
        message = "a command is {id: integer, method: string, params: object}"
        return _error(ident, "invalid_argument", message, 400)
    ident, method = payload["id"], payload["method"]
    params = payload.get("params") or {}
    if not isinstance(params, dict):
        return _error(ident, "invalid_argument", f"{method}: params must be an object")
    try:
        result = await _dispatch(state, user, thread_id, method, params)
    except _CommandError as exc:
        return _error(ident, exc.code, str(exc))
    except ValidationError as exc:  # a config, command or run the API's models refuse
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return _error(ident, "invalid_argument", f"{method}: {problems}")
    except ServerError as exc:
        code = "no_such_run" if exc.status == 404 else "invalid_argument"
        if exc.code == "thread_not_interrupted":
            code = "no_such_interrupt"
        return _error(ident, code, exc.message)
    return {"type": "success", "id": ident, "result": result}


async def _dispatch(
    state: ServerState, user: str, thread_id: str, method: str, params: dict[str, Any]
) -> dict[str, Any]:
    handler = _COMMANDS.get(method)
    if handler is not None:
        return await handler(state, user, thread_id, params)
    if method in _NOT_SUPPORTED:
        raise _CommandError("not_supported", f"hone server does not support {method}")
    raise _CommandError("unknown_command", f"unknown command {method!r}")


#: How long a command waits for the thread's run to finish (a client answering an
#: interrupt as soon as it is asked, while the run that asked is still ending).
_SETTLE_SECONDS = 10.0


async def _start(
    state: ServerState, user: str, thread_id: str, body: RunCreateBody
) -> dict[str, Any]:
    run = await create_run_record(state, user, thread_id, body, protocol=True)
    # Readers connecting from now on replay this run, never the end of an earlier one. The
    # run's task was only scheduled (nothing has awaited since), so it publishes after this.
    state.runs.thread_events.get(thread_id).start_run(run.run_id)
    return {"run_id": run.run_id}


def _config(params: dict[str, Any], method: str) -> RunConfigBody | None:
    config = params.get("config")
    if config is None:
        return None
    if not isinstance(config, dict):
        raise _CommandError("invalid_argument", f"{method}: config must be an object")
    return RunConfigBody.model_validate(config)


async def _run_start(
    state: ServerState, user: str, thread_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    assistant_id = params.get("assistant_id")
    if not isinstance(assistant_id, str) or not assistant_id:
        raise _CommandError("invalid_argument", "run.start needs an assistant_id")
    await state.runs.settled(thread_id, _SETTLE_SECONDS)
    thread = await state.db.get_thread(thread_id)
    resume = thread is not None and thread.owner == user and thread.status == "interrupted"
    body = RunCreateBody(
        assistant_id=assistant_id,
        input=None if resume else params.get("input"),
        command=CommandBody(resume=params.get("input")) if resume else None,
        config=_config(params, "run.start"),
        metadata=params.get("metadata") if isinstance(params.get("metadata"), dict) else None,
        if_not_exists="create",
        multitask_strategy="reject",  # the thread's stream follows one run at a time
    )
    return await _start(state, user, thread_id, body)


def _answers(params: dict[str, Any]) -> dict[str, Any]:
    entries = params.get("responses")
    if entries is None:
        entries = [params]
    if not isinstance(entries, list) or not entries:
        raise _CommandError("invalid_argument", "input.respond needs at least one response")
    answers: dict[str, Any] = {}
    for entry in entries:
        iid = entry.get("interrupt_id") if isinstance(entry, dict) else None
        if not isinstance(iid, str) or not iid:
            raise _CommandError("invalid_argument", "each input.respond needs an interrupt_id")
        answers[iid] = entry.get("response")
    return answers


async def _input_respond(
    state: ServerState, user: str, thread_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    thread = await own_thread(state, thread_id, user)
    await state.runs.settled(thread_id, _SETTLE_SECONDS)
    assistant_id = thread.graph_id or thread.metadata.get("graph_id")
    if not isinstance(assistant_id, str):
        raise _CommandError("no_such_run", f"thread {thread_id!r} has never run a graph")
    fields: dict[str, Any] = {"resume": _answers(params)}
    for key in ("update", "goto"):
        if params.get(key) is not None:
            fields[key] = params[key]
    body = RunCreateBody(
        assistant_id=assistant_id,
        command=CommandBody.model_validate(fields),
        multitask_strategy="reject",
        config=_config(params, "input.respond"),
        metadata=params.get("metadata") if isinstance(params.get("metadata"), dict) else None,
    )
    return await _start(state, user, thread_id, body)


async def _state_fork(
    state: ServerState, user: str, thread_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    checkpoint_id = params.get("checkpoint_id")
    if not isinstance(checkpoint_id, str) or not checkpoint_id:
        raise _CommandError("invalid_argument", "state.fork needs a checkpoint_id")
    graph = await _thread_graph(state, user, thread_id)
    await state.runs.settled(thread_id, _SETTLE_SECONDS)
    at = {"configurable": {"thread_id": thread_id, "checkpoint_id": checkpoint_id}}
    if (await graph.aget_state(at)).created_at is None:
        raise _CommandError(
            "no_such_checkpoint", f"thread {thread_id!r} has no checkpoint {checkpoint_id!r}"
        )
    thread = await own_thread(state, thread_id, user)
    body = RunCreateBody(
        assistant_id=str(thread.graph_id or thread.metadata.get("graph_id")),
        input=params.get("input"),
        checkpoint_id=checkpoint_id,
        multitask_strategy="reject",
        config=_config(params, "state.fork"),
    )
    return {**await _start(state, user, thread_id, body), "thread_id": thread_id}


async def _agent_tree(
    state: ServerState, user: str, thread_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    await own_thread(state, thread_id, user)
    log = state.runs.thread_events.get(thread_id)
    run_id = params.get("run_id")
    if log.run_id is None or (run_id is not None and run_id != log.run_id):
        raise _CommandError(
            "no_such_run", f"run {run_id!r} is not the thread's latest event-streaming run"
        )
    events = [event for _, event, _ in log.events]
    root: dict[str, Any] = next(
        (e["params"]["data"] for e in events if e["method"] == "lifecycle"), {}
    )
    return {"tree": agent_tree(events, str(root.get("graph_name") or ""))}


async def _thread_graph(state: ServerState, user: str, thread_id: str) -> Any:
    thread = await own_thread(state, thread_id, user)
    graph_id = thread.graph_id or thread.metadata.get("graph_id")
    if not isinstance(graph_id, str) or graph_id not in state.graphs:
        raise _CommandError("no_such_run", f"thread {thread_id!r} has no graph state yet")
    return state.graphs.graph(graph_id)


async def _state_get(
    state: ServerState, user: str, thread_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    if params.get("namespace"):
        raise _CommandError("not_supported", "state.get reads the root graph's state only")
    graph = await _thread_graph(state, user, thread_id)
    snapshot = await graph.aget_state({"configurable": {"thread_id": thread_id}})
    values = jsonable(snapshot.values) if snapshot.values is not None else {}
    keys = params.get("keys")
    if isinstance(keys, list) and isinstance(values, dict):
        values = {k: values[k] for k in keys if k in values}
    result: dict[str, Any] = {"values": values}
    checkpoint_id = (snapshot.config or {}).get("configurable", {}).get("checkpoint_id")
    if checkpoint_id:
        result["checkpoint"] = {"id": checkpoint_id}
    return result


async def _list_checkpoints(
    state: ServerState, user: str, thread_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    graph = await _thread_graph(state, user, thread_id)
    limit = params.get("limit")
    before = params.get("before")
    config = {"configurable": {"thread_id": thread_id}}
    before_config = {"configurable": {"thread_id": thread_id, "checkpoint_id": before}}
    summaries = []
    async for snap in graph.aget_state_history(
        config,
        limit=limit if type(limit) is int and limit > 0 else None,
        before=before_config if isinstance(before, str) and before else None,
    ):
        metadata = jsonable(snap.metadata or {})
        summaries.append(
            {
                "id": snap.config["configurable"]["checkpoint_id"],
                "timestamp": snap.created_at,
                "step": metadata.get("step", -1),
                "metadata": metadata,
            }
        )
    return {"checkpoints": summaries}


_Handler: TypeAlias = Callable[[ServerState, str, str, dict[str, Any]], Awaitable[dict[str, Any]]]
#: The commands carried out, by method.
_COMMANDS: dict[str, _Handler] = {
    "run.start": _run_start,
    "input.respond": _input_respond,
    "state.get": _state_get,
    "state.listCheckpoints": _list_checkpoints,
    "state.fork": _state_fork,
    "agent.getTree": _agent_tree,
}


@router.post(
    "/threads/{thread_id}/stream/events",
    summary="Stream a thread's events",
    openapi_extra=_body(_STREAM),
)
async def stream_events(
    thread_id: str, request: Request, state: Server, user: User
) -> StreamingResponse:
    try:
        body = await request.json()
    except ValueError as exc:
        raise _invalid("the body is not JSON") from exc
    channels, namespaces, depth, since = _filter(body)
    await own_thread(state, thread_id, user)
    log = state.runs.thread_events.get(thread_id)

    async def frames() -> AsyncIterator[bytes]:
        async for item in log.follow(
            channels,
            namespaces=namespaces,
            depth=depth,
            since=since,
            keepalive=state.config.keepalive_s,
        ):
            if item is None:
                yield b": keepalive\n\n"
                continue
            seq, method, data = item
            yield f"event: {method}\ndata: {data}\nid: {seq}\n\n".encode()

    headers = {"Cache-Control": "no-store"}
    return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)


def _filter(body: Any) -> tuple[list[str], list[list[str]] | None, int | None, int | None]:
    """An event-stream request's (channels, namespaces, depth, since), checked.

    Raises:
        ServerError: 400, naming what is wrong.
    """
    if not isinstance(body, dict):
        raise _invalid("the body is an object: {channels, namespaces?, depth?, since?}")
    channels = body.get("channels")
    if not isinstance(channels, list) or not channels:
        raise _invalid("channels is required and must be a non-empty array")
    unknown = [
        repr(c)
        for c in channels
        if not isinstance(c, str) or (c not in CHANNELS and not _named_custom(c))
    ]
    if unknown:
        raise _invalid(
            f"unsupported channels: {', '.join(unknown[:5])}; allowed: "
            f"{', '.join(sorted(CHANNELS))}, or custom:<name>"
        )
    namespaces = body.get("namespaces")
    if namespaces is not None and not (
        isinstance(namespaces, list)
        and all(isinstance(n, list) and all(isinstance(s, str) for s in n) for n in namespaces)
    ):
        raise _invalid("namespaces must be a list of namespaces (lists of strings)")
    depth, since = body.get("depth"), body.get("since")
    if depth is not None and (type(depth) is not int or depth < 0):
        raise _invalid("depth must be a non-negative integer")
    if since is not None and (type(since) is not int or since < 0):
        raise _invalid("since must be a non-negative integer (a seq)")
    return channels, namespaces or None, depth, since


def _invalid(message: str) -> ServerError:
    """A 400 for an event-stream request the protocol refuses (as LangGraph's server does)."""
    return ServerError(400, message, code="invalid_argument")


def _named_custom(channel: str) -> bool:
    return channel.startswith("custom:") and len(channel) > len("custom:")


async def thread_websocket(websocket: WebSocket, thread_id: str) -> None:
    """``WebSocket /threads/{thread_id}/stream/events`` (see the module docstring): the
    socket closes when the run ends (1000), or at once with 1008 for a caller the server does
    not know or a thread that is not theirs."""
    state: ServerState = websocket.app.state.hone
    try:
        user = await state.auth.identify({k.lower(): v for k, v in websocket.headers.items()})
        await own_thread(state, thread_id, user)
    except ServerError as exc:
        await websocket.close(code=1008, reason=exc.message[:120])
        return
    await websocket.accept()
    subscriptions: dict[str, tuple[list[str], list[list[str]] | None, int | None]] = {}
    follower: asyncio.Task[None] | None = None

    async def follow(since: int | None) -> None:
        def taken(event: dict[str, Any]) -> bool:
            return any(matches(event, *wanted) for wanted in subscriptions.values())

        log = state.runs.thread_events.get(thread_id)
        keepalive = state.config.keepalive_s
        async for item in log.follow((), since=since, keepalive=keepalive, take=taken):
            if item is not None:
                await websocket.send_text(item[2])
        await websocket.close(code=1000)

    try:
        while True:
            try:
                command = json.loads(await websocket.receive_text())
            except ValueError:
                await websocket.send_json(
                    {
                        "type": "error",
                        "id": None,
                        "error": "invalid_argument",
                        "message": "a command is JSON",
                    }
                )
                continue
            ident = command.get("id") if isinstance(command, dict) else None
            method = command.get("method") if isinstance(command, dict) else None
            params = command.get("params") if isinstance(command, dict) else None
            if method == "subscription.subscribe":
                try:
                    channels, namespaces, depth, since = _filter(params)
                except ServerError as exc:
                    await websocket.send_json(_error_body(ident, "invalid_argument", exc.message))
                    continue
                key = uuid.uuid4().hex
                subscriptions[key] = (channels, namespaces, depth)
                await websocket.send_json(
                    {"type": "success", "id": ident, "result": {"subscription_id": key}}
                )
                if follower is None:
                    follower = asyncio.create_task(follow(since))
            elif method == "subscription.unsubscribe":
                gone = params.get("subscription_id") if isinstance(params, dict) else None
                if not isinstance(gone, str) or subscriptions.pop(gone, None) is None:
                    await websocket.send_json(
                        _error_body(ident, "no_such_subscription", f"no subscription {gone!r}")
                    )
                else:
                    await websocket.send_json({"type": "success", "id": ident, "result": {}})
            else:
                message = f"{method!r} is not a WebSocket command here: send commands to POST /threads/{{thread_id}}/commands"
                await websocket.send_json(_error_body(ident, "unknown_command", message))
    except WebSocketDisconnect:
        pass
    finally:
        if follower is not None:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await follower
