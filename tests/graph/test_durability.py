"""Crash tests: a graph run on a SQLite file killed with SIGKILL at any point, in each
durability mode.

A child process (``_crash_child.py``) runs two multi-step graphs — a ReAct-like loop and a
parallel fan-out — whose nodes call side-effecting tools. It kills itself with SIGKILL at a
chosen *event* (node start, between tool calls, before/after a task's ``put_writes``,
before/after a checkpoint's ``put``); fresh processes then resume the thread with
``invoke(None, config)`` (sometimes crashing again) until it is done. Tools use
``get_task_id()`` + call index as an idempotency key. What each mode guarantees:

``durability="sync"`` — each checkpoint (with the writes of its step's last tasks, in one
transaction) is saved before the next step starts; other tasks' writes as each finishes.
After kills anywhere:

* the final state is the one of an uninterrupted run;
* every tool effect happens exactly once (a resumed task keeps its id);
* no task starts again after its writes were saved (a task killed before they were saved
  runs again — at-least-once — but its effects are not repeated).

``durability="async"`` (the default) — the same saves, in the same order, on a background
thread while the next step runs. A kill can lose the last step's checkpoint, so the tasks
of the step after the last saved checkpoint run again under new ids: the final state is
still the uninterrupted run's and no task starts again after its writes were saved, but
tool effects are only at-least-once.

``durability="exit"`` — nothing is saved until the run ends (done, failed or interrupted):
a kill before that leaves the thread as it was before the run, and running it again starts
over from the input.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHILD = Path(__file__).with_name("_crash_child.py")
SCENARIOS_PER_GRAPH = 10
KILLS_PER_SCENARIO = 3
# Of the 2 x 10 x 3 = 60 kill points, those of a resumed run shorter than its point do not
# land; how much a kill leaves to redo depends on thread timing, so under load a few more
# miss (49 of 60 seen on a loaded machine). Two thirds is still "most kills landed".
MIN_KILLS = 40
EXIT_KILL_POINTS = 8
GRAPHS = ("react", "fanout")


class ChildServer:
    """The child script, serving one run request per line (each in a forked process)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"crash-test child exited with {self.proc.wait()}")
        answer: dict[str, Any] = json.loads(line)
        if answer["status"] == "error":
            raise AssertionError(f"a worker failed (traceback above): {request}")
        return answer

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture
def servers() -> Iterator[list[ChildServer]]:
    # Two servers, one per graph, so both CPU cores work.
    made = [ChildServer(), ChildServer()]
    yield made
    for server in made:
        server.close()


@dataclass
class Outcome:
    """What one scenario (a fresh thread crashed and resumed to the end) left behind."""

    kills: int = 0
    values: dict[str, Any] = field(default_factory=dict)
    effects: list[str] = field(default_factory=list)
    executions: list[str] = field(default_factory=list)


def _request(tmp: Path, graph: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "db": str(tmp / f"{name}.db"),
        "graph": graph,
        "thread": f"thread-{name}",
        "effects": str(tmp / f"{name}.effects"),
        "executions": str(tmp / f"{name}.executions"),
        "result": str(tmp / f"{name}.result"),
        **extra,
    }


def _lines(path: str) -> list[str]:
    file = Path(path)
    return file.read_text().splitlines() if file.exists() else []


def run_scenario(server: ChildServer, request: dict[str, Any], kill_points: list[int]) -> Outcome:
    """Crash at each kill point in turn (fresh process each time), then resume to the end."""
    outcome = Outcome()
    answer: dict[str, Any] = {}
    for point in kill_points:
        answer = server.run({**request, "kill_at": point})
        if answer["status"] != "killed":
            break
        assert answer["signal"] == 9
        outcome.kills += 1
    for _ in range(3):
        if answer.get("status") == "done" and not answer["next"]:
            break
        answer = server.run(request)
    assert answer["status"] == "done" and not answer["next"], answer
    outcome.values = answer["values"]
    outcome.effects = _lines(request["effects"])
    outcome.executions = _lines(request["executions"])
    return outcome


def check_outcome(
    outcome: Outcome, reference: dict[str, Any], where: str, *, exactly_once: bool
) -> None:
    """The durability properties (see the module docstring)."""
    values = dict(outcome.values)
    receipts = values.pop("receipts")
    expected = dict(reference)
    assert len(receipts) == len(expected.pop("receipts")), where
    assert len(set(receipts)) == len(receipts), f"{where}: a tool call counted twice"
    assert values == expected, where
    # Effects: every tool call of the final history happened; with exactly-once, nothing else.
    assert set(receipts) <= set(outcome.effects), f"{where}: a tool call without its effect"
    if exactly_once:
        assert set(outcome.effects) == set(receipts), f"{where}: effects differ from tool calls"
    # A task whose writes were saved never starts again.
    saved: set[str] = set()
    for line in outcome.executions:
        kind, _, key = line.partition(" ")
        if kind == "saved":
            saved.add(key)
        elif kind == "start":
            assert key not in saved, f"{where}: task {key} re-ran after its writes were saved"


def _references(
    tmp: Path, servers: list[ChildServer], durability: str
) -> dict[str, tuple[dict[str, Any], int]]:
    """Each graph run once without a kill: its final values and how many events it had."""
    references: dict[str, tuple[dict[str, Any], int]] = {}
    for graph, server in zip(GRAPHS, servers, strict=True):
        answer = server.run(
            _request(tmp, graph, f"{graph}-{durability}-reference", durability=durability)
        )
        assert answer["status"] == "done" and not answer["next"]
        references[graph] = (answer["values"], answer["events"])
    assert references["react"][0]["messages"][-1]["content"].startswith("done after")
    return references


def _in_parallel(servers: list[ChildServer], job: Any) -> dict[str, Any]:
    """``job(graph, server)`` for both graphs at once (one server each, so both cores work)."""
    results: dict[str, Any] = {}
    failures: list[BaseException] = []

    def run(graph: str, server: ChildServer) -> None:
        try:
            results[graph] = job(graph, server)
        except BaseException as exc:
            failures.append(exc)

    workers = [
        threading.Thread(target=run, args=(graph, server))
        for graph, server in zip(GRAPHS, servers, strict=True)
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    if failures:
        raise failures[0]
    return results


@pytest.mark.slow
@pytest.mark.parametrize("durability", ["sync", "async"])
def test_sigkill_at_many_points_then_resume(
    tmp_path: Path, servers: list[ChildServer], durability: str
) -> None:
    rng = random.Random(20240611)
    references = _references(tmp_path, servers, durability)
    plans: dict[str, list[list[int]]] = {}
    for graph, (_, events) in references.items():
        # The first kill sweeps every part of the run; later kills hit the resumed runs.
        plans[graph] = [
            [
                1 + i * (events - 1) // (SCENARIOS_PER_GRAPH - 1),
                *(rng.randint(1, events // 3) for _ in range(KILLS_PER_SCENARIO - 1)),
            ]
            for i in range(SCENARIOS_PER_GRAPH)
        ]

    def sweep(graph: str, server: ChildServer) -> list[Outcome]:
        return [
            run_scenario(
                server,
                _request(
                    tmp_path,
                    graph,
                    f"{graph}-{durability}-{i}",
                    use_async=i % 2 == 1,
                    durability=durability,
                ),
                points,
            )
            for i, points in enumerate(plans[graph])
        ]

    outcomes: dict[str, list[Outcome]] = _in_parallel(servers, sweep)
    for graph, runs in outcomes.items():
        for i, outcome in enumerate(runs):
            check_outcome(
                outcome,
                references[graph][0],
                f"{durability}: {graph} scenario {i} {plans[graph][i]}",
                exactly_once=durability == "sync",
            )
    every = [o for runs in outcomes.values() for o in runs]
    assert sum(o.kills for o in every) >= MIN_KILLS
    # The kill points did land mid-task: some tasks ran twice, some tool calls were deduplicated.
    starts = Counter(line for o in every for line in o.executions if line.startswith("start "))
    calls = sum(1 for o in every for line in o.executions if line.startswith("call "))
    assert any(n > 1 for n in starts.values())
    assert calls > len({e for o in every for e in o.effects})


@pytest.mark.slow
def test_sigkill_with_durability_exit_saves_nothing_before_the_end(
    tmp_path: Path, servers: list[ChildServer]
) -> None:
    references = _references(tmp_path, servers, "exit")

    def sweep(graph: str, server: ChildServer) -> list[tuple[int, int, Outcome]]:
        values, events = references[graph]
        out = []
        for i in range(EXIT_KILL_POINTS):
            point = 1 + i * (events - 1) // (EXIT_KILL_POINTS - 1)
            request = _request(
                tmp_path, graph, f"{graph}-exit-{i}", use_async=i % 2 == 1, durability="exit"
            )
            killed = server.run({**request, "kill_at": point})
            stored = server.run({**request, "inspect": True})["checkpoints"]
            out.append((point, stored if killed["status"] == "killed" else -1, killed))
            outcome = run_scenario(server, request, [])
            check_outcome(outcome, values, f"exit: {graph} kill at {point}", exactly_once=False)
        return out

    results = _in_parallel(servers, sweep)
    for graph, runs in results.items():
        events = references[graph][1]
        for point, stored, _ in runs:
            if stored == -1:
                continue  # the kill point was past the run's end: it finished
            # The only save is the final one (the run's last events are its put).
            assert stored == (1 if point == events else 0), (graph, point, stored)
        assert sum(1 for _, stored, _ in runs if stored == 0) >= EXIT_KILL_POINTS - 2
