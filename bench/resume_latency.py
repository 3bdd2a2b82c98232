"""Time to load and to continue a long thread: hone's SqliteSaver vs LangGraph's.

A 500-turn conversation (``bench/_conversation.py``) is played once on each saver. Then,
several times, a *fresh* saver object and graph are opened on the same file (so no
in-process cache helps) and we time

* ``get_state`` — load the thread's latest state;
* one more turn — ``invoke`` with a new user message (4 super-steps, 4 checkpoints).

Each timed resume adds a turn, so run i starts from 500 + i turns. The OS file cache is
warm on both sides. Reported: the median over the runs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench._common import Options, bench_main, console, print_table, ratio
from bench._conversation import THREAD, conversation_graph, extend, fresh_db, run_turn
from bench._kits import Kit, close_saver, hone_kit, langgraph_kit

NAME = "resume_latency"
DESCRIPTION = "get_state and one more turn on a 500-turn thread, hone vs LangGraph"


def _timed_open(kit: Kit, path: Path, action: str, turn: int) -> float:
    saver = kit.sqlite_saver(path)
    try:
        graph = conversation_graph(kit, saver)
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


def run(options: Options) -> dict[str, Any]:
    """Build the thread on both frameworks, then time loads and resumes."""
    turns, repeats = (20, 3) if options.quick else (500, 7)
    rows: dict[str, dict[str, Any]] = {}
    for kit in (hone_kit(), langgraph_kit()):
        path = fresh_db(options.workdir / f"resume-{kit.name}.db")
        extend(kit, path, 0, turns)
        loads, resumes = [], []
        for i in range(repeats):
            loads.append(_timed_open(kit, path, "get_state", turns + i))
            resumes.append(_timed_open(kit, path, "resume", turns + i))
        rows[kit.name] = {
            "get_state_ms": round(statistics.median(loads) * 1e3, 2),
            "resume_turn_ms": round(statistics.median(resumes) * 1e3, 2),
            "get_state_ms_all": [round(t * 1e3, 2) for t in loads],
            "resume_turn_ms_all": [round(t * 1e3, 2) for t in resumes],
        }
        console.print(f"  {kit.name:10} {rows[kit.name]['get_state_ms']} ms get_state")
    hone_row, lg_row = rows["hone"], rows["langgraph"]
    speedups = {
        "get_state": ratio(lg_row["get_state_ms"], hone_row["get_state_ms"]),
        "resume_turn": ratio(lg_row["resume_turn_ms"], hone_row["resume_turn_ms"]),
    }
    print_table(
        f"median ms over {repeats} runs, {turns}-turn thread, fresh saver objects",
        ["operation", "hone", "LangGraph", "LangGraph / hone"],
        [
            ["get_state", hone_row["get_state_ms"], lg_row["get_state_ms"], speedups["get_state"]],
            [
                "one more turn",
                hone_row["resume_turn_ms"],
                lg_row["resume_turn_ms"],
                speedups["resume_turn"],
            ],
        ],
    )
    return {"turns": turns, "repeats": repeats, "savers": rows, "langgraph_over_hone": speedups}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``python -m bench resume_latency [--quick]``."""
    return bench_main(NAME, DESCRIPTION, run, argv)


if __name__ == "__main__":
    main()
