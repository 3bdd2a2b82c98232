"""Per-super-step framework overhead: hone vs LangGraph vs a hand-written Python loop.

Two identical graphs run on both frameworks with no saver, an in-memory saver and a SQLite
saver:

* **react** — agent → tools → agent … with a scripted model (a plain function returning the
  next message as an OpenAI-style dict) for 10,000 super-steps. The state is a step counter
  and the *latest* message (plain last-value keys), so it does not grow with the run: the
  figures measure the framework, not the cost of copying a long message list.
* **fanout** — fan → 10 parallel workers (static edges) → join (waits for all 10) → fan …;
  the workers add into an integer with a sum reducer. 3 super-steps (12 node calls) per round.

The hand-written loop calls the same node functions in a plain ``while`` loop (no threads,
no state merging beyond ``dict`` updates): the cost of the work itself. *Overhead* is a
framework's time per super-step minus the loop's.
"""

from __future__ import annotations

import gc
import operator
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypedDict

from bench._common import Options, bench_main, console, print_table, ratio
from bench._kits import Kit, close_saver, hone_kit, langgraph_kit

NAME = "graph_overhead"
DESCRIPTION = "per-super-step framework overhead, hone vs LangGraph vs a hand-written loop"
WORKERS = 10
SAVERS = ("none", "memory", "sqlite")

# ------------------------------------------------------------------ the node functions


class ReactState(TypedDict):
    step: int
    last: dict[str, Any]
    limit: int


def scripted_model(step: int, last: dict[str, Any]) -> dict[str, Any]:
    """The next assistant message: always one more tool call (the router stops the loop)."""
    return {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": f"call_{step}", "name": "add", "arguments": {"a": step, "b": 1}}],
    }


def agent(state: ReactState) -> dict[str, Any]:
    """Asks the scripted model for the next message."""
    return {"step": state["step"] + 1, "last": scripted_model(state["step"], state["last"])}


def tools(state: ReactState) -> dict[str, Any]:
    """Runs the requested tool call."""
    call = state["last"]["tool_calls"][0]
    args = call["arguments"]
    result = {"role": "tool", "tool_call_id": call["id"], "content": str(args["a"] + args["b"])}
    return {"step": state["step"] + 1, "last": result}


def route(state: ReactState) -> str:
    """tools while the step budget lasts, then the end."""
    return "tools" if state["step"] < state["limit"] else "__end__"


class FanState(TypedDict):
    round: int
    rounds: int
    total: Annotated[int, operator.add]


def fan(state: FanState) -> dict[str, Any]:
    """Starts a round."""
    return {"round": state["round"] + 1}


def make_worker(i: int) -> Callable[[FanState], dict[str, Any]]:
    """Worker i contributes i + round to the total."""

    def worker(state: FanState) -> dict[str, Any]:
        return {"total": i + state["round"]}

    worker.__name__ = f"w{i}"
    return worker


WORKER_FNS = [make_worker(i) for i in range(WORKERS)]


def join(state: FanState) -> dict[str, Any]:
    """Ends a round (all workers have written)."""
    return {}


def again(state: FanState) -> str:
    """Another round, or the end."""
    return "fan" if state["round"] < state["rounds"] else "__end__"


# ------------------------------------------------------------------ the graphs


def react_graph(kit: Kit, saver: Any) -> Any:
    """agent → tools → agent … on a kit."""
    g = kit.StateGraph(ReactState)
    g.add_node("agent", agent)
    g.add_node("tools", tools)
    g.add_edge(kit.START, "agent")
    g.add_conditional_edges("agent", route, {"tools": "tools", "__end__": kit.END})
    g.add_edge("tools", "agent")
    return g.compile(checkpointer=saver)


def fanout_graph(kit: Kit, saver: Any) -> Any:
    """fan → 10 workers → join → fan … on a kit."""
    g = kit.StateGraph(FanState)
    g.add_node("fan", fan)
    names = [f"w{i}" for i in range(WORKERS)]
    for name, fn in zip(names, WORKER_FNS, strict=True):
        g.add_node(name, fn)
        g.add_edge("fan", name)
    g.add_node("join", join)
    g.add_edge(names, "join")
    g.add_edge(kit.START, "fan")
    g.add_conditional_edges("join", again, {"fan": "fan", "__end__": kit.END})
    return g.compile(checkpointer=saver)


def react_input(steps: int) -> dict[str, Any]:
    """Start state for a run of ``steps`` super-steps."""
    return {"step": 0, "last": {"role": "user", "content": "add things"}, "limit": steps - 1}


def fanout_input(rounds: int) -> dict[str, Any]:
    """Start state for ``rounds`` rounds."""
    return {"round": 0, "rounds": rounds, "total": 0}


# ------------------------------------------------------------------ the hand-written loops


def react_by_hand(steps: int) -> dict[str, Any]:
    """The same calls in a plain loop."""
    state: dict[str, Any] = dict(react_input(steps))
    while True:
        state.update(agent(state))  # type: ignore[arg-type]
        if route(state) != "tools":  # type: ignore[arg-type]
            return state
        state.update(tools(state))  # type: ignore[arg-type]


def fanout_by_hand(rounds: int) -> dict[str, Any]:
    """The same calls in a plain loop (workers one after the other)."""
    state: dict[str, Any] = dict(fanout_input(rounds))
    while True:
        state.update(fan(state))  # type: ignore[arg-type]
        total = state["total"]
        for worker in WORKER_FNS:
            total += worker(state)["total"]  # type: ignore[arg-type]
        state["total"] = total
        state.update(join(state))  # type: ignore[arg-type]
        if again(state) != "fan":  # type: ignore[arg-type]
            return state


# ------------------------------------------------------------------ measuring


def _saver(kit: Kit, kind: str, workdir: Path, label: str) -> Any:
    if kind == "none":
        return None
    if kind == "memory":
        return kit.memory_saver()
    path = workdir / f"overhead-{label}-{kit.name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return kit.sqlite_saver(path)


def time_graph(
    kit: Kit, program: str, saver_kind: str, size: int, workdir: Path
) -> tuple[float, dict[str, Any]]:
    """Seconds for one run of a program (after a short warm-up run), and its output."""
    build, make_input = (
        (react_graph, react_input) if program == "react" else (fanout_graph, fanout_input)
    )
    steps = size if program == "react" else 3 * size
    config: dict[str, Any] = {"recursion_limit": steps + 10}
    saver = _saver(kit, saver_kind, workdir, program)
    try:
        graph = build(kit, saver)
        if saver is not None:
            config["configurable"] = {"thread_id": "warmup"}
        graph.invoke(make_input(min(size, 20)), config, **kit.invoke_kwargs)
        if saver is not None:
            config["configurable"] = {"thread_id": "measured"}
        gc.collect()
        start = time.perf_counter()
        out = graph.invoke(make_input(size), config, **kit.invoke_kwargs)
        return time.perf_counter() - start, dict(out)
    finally:
        close_saver(saver)


def time_by_hand(program: str, size: int, repeats: int = 5) -> tuple[float, dict[str, Any]]:
    """Best of a few runs of the hand-written loop (it is short, so noise matters)."""
    fn = react_by_hand if program == "react" else fanout_by_hand
    best, out = float("inf"), {}
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        out = fn(size)
        best = min(best, time.perf_counter() - start)
    return best, out


def measure(
    program: str, size: int, kits: Sequence[Kit], workdir: Path, repeats: int
) -> list[dict[str, Any]]:
    """All rows of one program: per saver, each framework's µs per super-step (the best of
    ``repeats`` runs, frameworks interleaved so that a busy machine slows both alike)."""
    steps = size if program == "react" else 3 * size
    hand_s, expected = time_by_hand(program, size)
    hand_us = hand_s / steps * 1e6
    rows = []
    for saver_kind in SAVERS:
        row: dict[str, Any] = {"program": program, "saver": saver_kind, "steps": steps}
        row["hand_us_per_step"] = round(hand_us, 2)
        best: dict[str, float] = {}
        for _ in range(repeats):
            for kit in kits:
                if saver_kind == "none" and kit.invoke_kwargs:
                    continue  # durability only matters with a saver
                seconds, out = time_graph(kit, program, saver_kind, size, workdir)
                if out.get("step", out.get("total")) != expected.get("step", expected.get("total")):
                    raise RuntimeError(f"{kit.name} computed {out}, the loop {expected}")
                best[kit.name] = min(seconds, best.get(kit.name, seconds))
                console.print(f"  {program:6} {saver_kind:6} {kit.name:18} {seconds:7.2f} s")
        for name, seconds in best.items():
            row[f"{name}_us_per_step"] = round(seconds / steps * 1e6, 2)
        hone_us, lg_us = row["hone_us_per_step"], row["langgraph_us_per_step"]
        row["hone_overhead_us"] = round(hone_us - hand_us, 2)
        row["langgraph_overhead_us"] = round(lg_us - hand_us, 2)
        row["overhead_ratio_hone_vs_langgraph"] = ratio(hone_us - hand_us, lg_us - hand_us)
        if "hone-sync_us_per_step" in row:  # the same comparison at durability="sync"
            sync_hone, sync_lg = row["hone-sync_us_per_step"], row["langgraph-sync_us_per_step"]
            row["overhead_ratio_sync"] = ratio(sync_hone - hand_us, sync_lg - hand_us)
        row["hone_vs_hand"] = ratio(hone_us, hand_us)
        rows.append(row)
    return rows


def run(options: Options) -> dict[str, Any]:
    """Measure both programs with every saver."""
    react_steps, fan_rounds, repeats = (200, 20, 1) if options.quick else (10_000, 1_000, 3)
    kits = [hone_kit(), langgraph_kit(), hone_kit("sync"), langgraph_kit("sync")]
    rows = measure("react", react_steps, kits, options.workdir, repeats)
    rows += measure("fanout", fan_rounds, kits, options.workdir, repeats)
    print_table(
        "µs per super-step (overhead = minus the hand-written loop)",
        [
            "program / saver",
            "hand loop",
            "hone",
            "LangGraph",
            "hone sync",
            "LangGraph sync",
            "overhead ratio (default)",
            "overhead ratio (sync)",
            "hone / hand loop",
        ],
        [
            [
                f"{r['program']} / {r['saver']}",
                r["hand_us_per_step"],
                r["hone_us_per_step"],
                r["langgraph_us_per_step"],
                r.get("hone-sync_us_per_step"),
                r.get("langgraph-sync_us_per_step"),
                r["overhead_ratio_hone_vs_langgraph"],
                r.get("overhead_ratio_sync"),
                r["hone_vs_hand"],
            ]
            for r in rows
        ],
    )
    return {
        "react_steps": react_steps,
        "fanout_rounds": fan_rounds,
        "repeats": repeats,
        "statistic": "best of the repeats",
        "targets": {
            "overhead_ratio_hone_vs_langgraph": "<= 0.2",
            "overhead_ratio_sync": "<= 0.2",
            "hone_vs_hand": "<= 3",
        },
        "rows": rows,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``python -m bench graph_overhead [--quick]``."""
    return bench_main(NAME, DESCRIPTION, run, argv)


# ------------------------------------------------------------------ instruction counts

#: Scenario sizes for instruction counts: two runs each, so that per-step counts are the
#: difference (what a run costs once cancels out). react: steps; fanout: rounds of 3 steps.
MARKED_SIZES = {"react": (20, 120), "fanout": (10, 40)}


def run_marked(framework: str, scenarios: Sequence[str], workdir: Path) -> list[str]:
    """Run each ``program:saver:durability`` scenario at both ``MARKED_SIZES`` between
    ``os.getppid()`` and ``os.getpgrp()``, which mark the measured run for
    ``valgrind --tool=callgrind --zero-before=getppid --dump-before=getpgrp`` (each dump
    holds one run's instructions, all threads); returns the runs' labels in dump order."""
    import os

    labels = []
    for scenario in scenarios:
        program, saver_kind, durability = scenario.split(":")
        for size in MARKED_SIZES[program]:
            if framework == "hand":
                loop = react_by_hand if program == "react" else fanout_by_hand
                loop(20)
                os.getppid()
                loop(size)
                os.getpgrp()
            else:
                dur = None if durability == "default" else durability
                kit = hone_kit(dur) if framework == "hone" else langgraph_kit(dur)
                _marked_run(kit, program, saver_kind, size, workdir)
            labels.append(f"{framework} {program} {saver_kind} {durability} {size}")
    return labels


def _marked_run(kit: Kit, program: str, saver_kind: str, size: int, workdir: Path) -> None:
    import os

    build, make_input = (
        (react_graph, react_input) if program == "react" else (fanout_graph, fanout_input)
    )
    steps = size if program == "react" else 3 * size
    config: dict[str, Any] = {"recursion_limit": max(steps, 60) + 10}
    saver = _saver(kit, saver_kind, workdir, f"{program}-{size}")
    try:
        graph = build(kit, saver)
        if saver is not None:
            config["configurable"] = {"thread_id": "warmup"}
        graph.invoke(make_input(20), config, **kit.invoke_kwargs)
        if saver is not None:
            config["configurable"] = {"thread_id": "measured"}
        os.getppid()
        graph.invoke(make_input(size), config, **kit.invoke_kwargs)
        os.getpgrp()
    finally:
        close_saver(saver)


if __name__ == "__main__":
    import sys
    import tempfile

    if len(sys.argv) == 4 and sys.argv[1] == "marked":
        # python -m bench.graph_overhead marked hone|langgraph|hand react:memory:sync,...
        with tempfile.TemporaryDirectory() as tmp:
            print("\n".join(run_marked(sys.argv[2], sys.argv[3].split(","), Path(tmp))))
    else:
        main()
