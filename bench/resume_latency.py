"""Time to load and to continue a long thread, as it grows: hone vs LangGraph.

The conversation of ``bench/_conversation.py`` (4 messages and 4 checkpoints per turn) is
played on a SQLite file by three setups:

* ``hone`` — hone's runtime and ``SqliteSaver``;
* ``langgraph`` — LangGraph's runtime and its ``SqliteSaver`` (WAL, ``synchronous=NORMAL``);
* ``langgraph+hone`` — LangGraph's runtime on hone's ``SqliteSaver`` through
  ``hone.checkpoint.langgraph.LangGraphSaver``.

When the thread reaches 100, 500, 1,000 and 2,000 turns, a *fresh* saver object and graph are
opened on the file several times (no in-process cache helps; the OS file cache is warm) and
``get_state`` is timed. LangGraph's own saver stops at 500 turns: it stores the whole history
at every step, so its file holds ~1.5 GB at 500 turns and would hold ~24 GB at 2,000. At 500
turns, one more turn (``invoke`` with a user message: 4 super-steps) is also timed; each
timed turn adds a turn, so the later marks are reached by playing on from there.

Before each timing the garbage collector runs, outside the timed region, so that garbage
left by earlier runs is not charged to the next. Reported: medians, and a plot of
``get_state`` time against thread length (``docs/images/resume_latency.png``).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench._common import Options, bench_main, console, print_table, ratio
from bench._conversation import THREAD, conversation_graph, extend, fresh_db, run_turn
from bench._kits import Kit, close_saver, hone_kit, langgraph_kit
from bench.checkpoint_size import langgraph_on_hone_kit

NAME = "resume_latency"
DESCRIPTION = "get_state at 100-2,000 turns and one more turn at 500, hone vs LangGraph"

PLOT = Path(__file__).resolve().parent.parent / "docs" / "images" / "resume_latency.png"


def _timed_open(kit: Kit, path: Path, action: str, turn: int) -> float:
    saver = kit.sqlite_saver(path)
    try:
        graph = conversation_graph(kit, saver)
        gc.collect()  # garbage of earlier runs is not this run's cost (same for every setup)
        start = time.perf_counter()
        if action == "get_state":
            snapshot = graph.get_state(THREAD)
            if len(snapshot.values["messages"]) != 4 * turn:
                raise RuntimeError(f"{kit.name}: wrong state after {turn} turns")
        else:
            run_turn(kit, graph, turn)
        return time.perf_counter() - start
    finally:
        close_saver(saver)


def _ms(times: list[float]) -> dict[str, Any]:
    return {
        "median_ms": round(statistics.median(times) * 1e3, 2),
        "all_ms": [round(t * 1e3, 2) for t in times],
    }


def _measure(kit: Kit, path: Path, marks: Sequence[int], resume_at: int, repeats: int) -> dict:
    row: dict[str, Any] = {"get_state": {}}
    done = 0
    for mark in marks:
        extend(kit, path, done, mark)
        done = mark
        loads = [_timed_open(kit, path, "get_state", mark) for _ in range(repeats)]
        row["get_state"][str(mark)] = _ms(loads)
        console.print(
            f"  {kit.name:15} {mark:5} turns: get_state {row['get_state'][str(mark)]['median_ms']} ms"
        )
        if mark == resume_at:
            resumes = []
            for _ in range(repeats):
                resumes.append(_timed_open(kit, path, "resume", done))
                done += 1
            row["resume_turn"] = _ms(resumes)
    return row


def _plot(rows: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for name, row in rows.items():
        turns = [int(t) for t in row["get_state"]]
        ms = [row["get_state"][str(t)]["median_ms"] for t in turns]
        ax.plot(turns, ms, marker="o", label=name)
    ax.set_xlabel("thread length (turns; 4 messages and 4 checkpoints each)")
    ax.set_ylabel("get_state, fresh saver (ms, median)")
    ax.set_title("Loading the latest state of a long thread (SQLite)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(options: Options) -> dict[str, Any]:
    """Grow the thread on each setup; time loads at each mark and a turn at 500."""
    if options.quick:
        marks, lg_marks, resume_at, repeats = (5, 10, 20), (5, 10), 10, 3
    else:
        marks, lg_marks, resume_at, repeats = (100, 500, 1000, 2000), (100, 500), 500, 7
    rows: dict[str, dict[str, Any]] = {}
    for kit, kit_marks in (
        (hone_kit(), marks),
        (langgraph_kit(), lg_marks),
        (langgraph_on_hone_kit(), marks),
    ):
        path = fresh_db(options.workdir / f"resume-{kit.name}.db")
        rows[kit.name] = _measure(kit, path, kit_marks, resume_at, repeats)
    at = str(resume_at)
    hone, lg, lg_hone = rows["hone"], rows["langgraph"], rows["langgraph+hone"]
    speedups = {
        "get_state": ratio(lg["get_state"][at]["median_ms"], hone["get_state"][at]["median_ms"]),
        "resume_turn": ratio(lg["resume_turn"]["median_ms"], hone["resume_turn"]["median_ms"]),
        "get_state_langgraph_runtime_on_hone_saver": ratio(
            lg["get_state"][at]["median_ms"], lg_hone["get_state"][at]["median_ms"]
        ),
    }
    first, last = str(marks[0]), str(marks[-1])
    growth = {
        name: ratio(row["get_state"][last]["median_ms"], row["get_state"][first]["median_ms"])
        for name, row in rows.items()
        if last in row["get_state"]
    }
    print_table(
        f"get_state, median ms over {repeats} fresh openings",
        ["setup", *(f"{m} turns" for m in marks), f"growth {last}/{first}"],
        [
            [
                name,
                *(row["get_state"].get(str(m), {}).get("median_ms") for m in marks),
                growth.get(name),
            ]
            for name, row in rows.items()
        ],
    )
    print_table(
        f"one more turn at {resume_at} turns, median ms",
        ["setup", "ms", "LangGraph / setup"],
        [
            [
                name,
                row["resume_turn"]["median_ms"],
                ratio(lg["resume_turn"]["median_ms"], row["resume_turn"]["median_ms"]),
            ]
            for name, row in rows.items()
        ],
    )
    console.print(
        f"LangGraph / hone get_state at {resume_at} turns: {speedups['get_state']}× "
        f"(target ≥ 2×); hone growth {last}/{first}: {growth.get('hone')}× (target: flat)"
    )
    if not options.quick:
        _plot(rows, PLOT)
        console.print(f"plot written to {PLOT}")
    return {
        "marks": list(marks),
        "langgraph_marks": list(lg_marks),
        "repeats": repeats,
        "setups": rows,
        "langgraph_over_setup_at_500": speedups,
        "get_state_growth_last_over_first": growth,
        "targets": {"get_state_langgraph_over_hone_at_500": ">= 2", "hone_growth": "flat"},
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``python -m bench resume_latency [--quick]``."""
    return bench_main(NAME, DESCRIPTION, run, argv)


if __name__ == "__main__":
    main()
