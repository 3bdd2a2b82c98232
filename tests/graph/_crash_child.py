"""Child side of the crash tests in ``test_durability.py``.

Run as a script, this process imports hone once and then serves requests read from stdin, one
JSON object per line. For each request it forks a fresh worker process that opens a new
``SqliteSaver`` on the request's database file and drives one graph until it finishes — or
until the worker kills itself with SIGKILL at the request's kill point. Importing hone takes
seconds; forking a process that already has it takes milliseconds, so the parent can afford
dozens of crashes. The server answers each request with one JSON line: how the worker ended.

Kill points are *events*, counted in the order they happen in one worker:

* ``start``        — a node began (its task id is logged first);
* ``effect``       — a tool call finished, between the two tool calls of a node (mid-task);
* ``writes-``/``writes+`` — just before / just after a task's ``put_writes``;
* ``put-``/``put+``       — just before / just after a checkpoint's ``put`` (which may carry
  the writes of the step's last tasks in the same transaction).

A request names the run's ``durability`` (``"sync"``, ``"async"`` — the default — or
``"exit"``); with ``"async"`` the saver calls, and so their events, happen on the run's
background save thread.

The worker kills itself when the ``kill_at``-th event happens. Fan-out workers run on a thread
pool, so a kill there lands while other tasks of the same step are half done.

Two logs make the outcome checkable:

* the *effects* log holds one line ``task_id,call_index`` per side effect; a tool appends it
  only if that key is not there yet (the idempotency key of a real tool);
* the *executions* log holds ``start <task_id>``, ``call <task_id>,<i>`` and
  ``saved <task_id>`` lines, in the order they happened across all workers.
"""

from __future__ import annotations

import asyncio
import json
import operator
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, TypedDict

from hone.checkpoint import (
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    SqliteSaver,
    TaskWrites,
)
from hone.graph import END, START, CompiledGraph, Send, StateGraph, add_messages, get_task_id
from hone.messages import AnyMessage, AssistantMessage, ToolCall, ToolMessage, UserMessage

REACT_ROUNDS = 5
FANOUT_ROUNDS = 3
FANOUT_WIDTH = 6

# One lock orders every event, log line and saver call of a worker: a kill can never land
# between a saver call returning and its "saved" line, nor between an effect check and append.
_LOCK = threading.RLock()


class _Worker:
    """Per-worker settings: where the logs are and when to die."""

    def __init__(self, request: Mapping[str, Any]) -> None:
        self.effects = Path(request["effects"])
        self.executions = Path(request["executions"])
        self.kill_at: int | None = request.get("kill_at")
        self.events = 0

    def tick(self, kind: str) -> None:
        with _LOCK:
            self.events += 1
            if self.kill_at is not None and self.events >= self.kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    def log(self, line: str) -> None:
        with _LOCK, self.executions.open("a") as fh:
            fh.write(line + "\n")

    def effect(self, key: str) -> None:
        with _LOCK:
            done = set(self.effects.read_text().split()) if self.effects.exists() else set()
            if key not in done:
                with self.effects.open("a") as fh:
                    fh.write(key + "\n")


WORKER: _Worker | None = None


def _worker() -> _Worker:
    if WORKER is None:
        raise RuntimeError("no worker is running")
    return WORKER


def tool(call_index: int, payload: str) -> tuple[str, str]:
    """A side-effecting tool keyed by (task id, call index); returns (result, key)."""
    worker = _worker()
    key = f"{get_task_id()},{call_index}"
    worker.log(f"call {key}")
    worker.effect(key)
    worker.tick("effect")
    return f"result({payload})", key


def _node_start() -> None:
    worker = _worker()
    worker.log(f"start {get_task_id()}")
    worker.tick("start")


# ------------------------------------------------------------------ ReAct-like loop


class ReactState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    receipts: Annotated[list[str], operator.add]


def agent(state: ReactState) -> dict[str, Any]:
    """A scripted model: asks for two tool calls per round, then answers."""
    _node_start()
    rounds = sum(1 for m in state["messages"] if isinstance(m, ToolMessage)) // 2
    if rounds >= REACT_ROUNDS:
        return {"messages": [AssistantMessage(id="final", content=f"done after {rounds}")]}
    calls = tuple(
        ToolCall(id=f"call{rounds}_{j}", name="lookup", arguments={"q": f"q{rounds}.{j}"})
        for j in range(2)
    )
    return {"messages": [AssistantMessage(id=f"ai{rounds}", tool_calls=calls)]}


def tools(state: ReactState) -> dict[str, Any]:
    """Runs the last assistant message's tool calls, one after the other."""
    _node_start()
    last = state["messages"][-1]
    assert isinstance(last, AssistantMessage)
    out: list[AnyMessage] = []
    receipts: list[str] = []
    for index, call in enumerate(last.tool_calls):
        result, key = tool(index, str(call.arguments["q"]))
        out.append(ToolMessage(id=f"t-{call.id}", tool_call_id=call.id, content=result))
        receipts.append(key)
    return {"messages": out, "receipts": receipts}


def route(state: ReactState) -> str:
    last = state["messages"][-1]
    return "tools" if isinstance(last, AssistantMessage) and last.tool_calls else END


def react_graph(saver: Any) -> CompiledGraph:
    """agent → tools → agent … until the scripted model answers."""
    builder = StateGraph(ReactState)
    builder.add_node("agent", agent)
    builder.add_node("tools", tools)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", route, ["tools", END])
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=saver)


# ------------------------------------------------------------------ parallel fan-out


class FanState(TypedDict):
    round: int
    results: Annotated[list[str], operator.add]
    receipts: Annotated[list[str], operator.add]


class Shard(TypedDict):
    round: int
    shard: int


def planner(state: FanState) -> dict[str, Any]:
    _node_start()
    return {"round": state.get("round", 0) + 1}


def fan_out(state: FanState) -> Any:
    if state["round"] > FANOUT_ROUNDS:
        return END
    return [Send("worker", Shard(round=state["round"], shard=i)) for i in range(FANOUT_WIDTH)]


def worker(shard: Shard) -> dict[str, Any]:
    """Two tool calls per shard, run in parallel with the other shards."""
    _node_start()
    label = f"r{shard['round']}s{shard['shard']}"
    first, key0 = tool(0, label + "a")
    second, key1 = tool(1, label + "b")
    return {"results": [f"{label}:{first}+{second}"], "receipts": [key0, key1]}


def fanout_graph(saver: Any) -> CompiledGraph:
    """planner → N parallel workers (Send) → planner … for a few rounds."""
    builder = StateGraph(FanState)
    builder.add_node("planner", planner)
    builder.add_node("worker", worker)
    builder.add_edge(START, "planner")
    builder.add_conditional_edges("planner", fan_out, ["worker", END])
    builder.add_edge("worker", "planner")
    return builder.compile(checkpointer=saver)


GRAPHS = {"react": react_graph, "fanout": fanout_graph}
INPUTS: dict[str, Any] = {
    "react": {"messages": [UserMessage(id="u0", content="look things up")]},
    "fanout": {"round": 0},
}


# ------------------------------------------------------------------ saver with kill points


class KillPointSaver:
    """Delegates to a real saver, with an event (a possible kill) around each write.

    Every write the runtime makes goes through ``put`` (a checkpoint, maybe with the writes
    of the step's last tasks in the same transaction) or ``put_writes`` (one task's writes);
    a ``saved <task_id>`` line is logged once the saver call returned.
    """

    def __init__(self, inner: SqliteSaver) -> None:
        self.inner = inner

    def put(
        self,
        config: Mapping[str, Any],
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: Mapping[str, Any],
        *,
        writes: Sequence[TaskWrites] = (),
    ) -> Any:
        worker = _worker()
        worker.tick("put-")
        with _LOCK:
            saved = self.inner.put(config, checkpoint, metadata, new_versions, writes=writes)
            for task_writes in writes:
                worker.log(f"saved {task_writes[0]}")
        worker.tick("put+")
        return saved

    def put_writes(
        self,
        config: Mapping[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        worker = _worker()
        worker.tick("writes-")
        with _LOCK:
            self.inner.put_writes(config, writes, task_id, task_path)
            worker.log(f"saved {task_id}")
        worker.tick("writes+")

    def get_tuple(self, config: Mapping[str, Any]) -> CheckpointTuple | None:
        return self.inner.get_tuple(config)

    def list(self, config: Mapping[str, Any] | None, **kwargs: Any) -> Iterator[CheckpointTuple]:
        return self.inner.list(config, **kwargs)

    def get_next_version(self, current: Any, channel: None = None) -> Any:
        return self.inner.get_next_version(current, channel)


# ------------------------------------------------------------------ one worker


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    def encode(value: Any) -> Any:
        if hasattr(value, "model_dump"):
            return value.model_dump(mode="json")
        raise TypeError(f"cannot encode {type(value).__name__}")

    return dict(json.loads(json.dumps(values, default=encode, sort_keys=True)))


def run_worker(request: Mapping[str, Any]) -> dict[str, Any]:
    """Drive the graph once (input on a fresh thread, else resume); report its state."""
    global WORKER
    WORKER = _Worker(request)
    saver = SqliteSaver(request["db"])
    graph = GRAPHS[request["graph"]](KillPointSaver(saver))
    config = {"configurable": {"thread_id": request["thread"]}}
    started = saver.get_tuple(config) is not None
    value = None if started else INPUTS[request["graph"]]
    durability = request.get("durability", "async")
    if request.get("use_async"):
        asyncio.run(graph.ainvoke(value, config, durability=durability))
    else:
        graph.invoke(value, config, durability=durability)
    snapshot = graph.get_state(config)
    return {
        "next": list(snapshot.next),
        "values": _plain(snapshot.values),
        "events": WORKER.events,
        "checkpoints": len(list(saver.list(config))),
    }


def inspect_thread(request: Mapping[str, Any]) -> dict[str, Any]:
    """How many checkpoints the request's thread has stored (no graph runs)."""
    with SqliteSaver(request["db"]) as saver:
        stored = list(saver.list({"configurable": {"thread_id": request["thread"]}}))
    return {"status": "inspected", "checkpoints": len(stored)}


def _serve_one(request: Mapping[str, Any]) -> dict[str, Any]:
    if request.get("inspect"):
        return inspect_thread(request)
    result_path = Path(request["result"])
    result_path.unlink(missing_ok=True)
    pid = os.fork()
    if pid == 0:  # the worker: never returns
        code = 0
        try:
            result_path.write_text(json.dumps(run_worker(request)))
        except BaseException:
            traceback.print_exc()
            code = 3
        finally:
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return {"status": "killed", "signal": os.WTERMSIG(status)}
    if os.WEXITSTATUS(status) != 0:
        return {"status": "error", "code": os.WEXITSTATUS(status)}
    return {"status": "done", **json.loads(result_path.read_text())}


def main() -> None:
    """Serve requests from stdin until it closes."""
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(_serve_one(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
