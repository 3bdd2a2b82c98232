"""Bytes on disk for one long conversation: hone's SqliteSaver vs LangGraph's.

The same conversation (see ``bench/_conversation.py``: 4 messages of 200–500 characters and 4
checkpoints per turn) is played by three setups:

* ``hone`` — hone's runtime and ``SqliteSaver``;
* ``langgraph`` — LangGraph's runtime and its ``SqliteSaver``;
* ``langgraph+hone`` — LangGraph's runtime on hone's ``SqliteSaver`` through
  ``hone.checkpoint.langgraph.LangGraphSaver`` (a LangGraph user who keeps LangGraph's runtime).

After 100 and after 500 turns the database is compacted — WAL folded into the file, then
``VACUUM`` — and the file size is reported. Every checkpoint is kept (no pruning) on every
side: that is what time travel needs.

Growth 500/100 shows the storage order: ≈5× is linear in the conversation, ≈25× quadratic.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

from bench._common import Options, bench_main, console, print_table, ratio
from bench._conversation import compacted_size, extend, fresh_db
from bench._kits import Kit, hone_kit, langgraph_kit

NAME = "checkpoint_size"
DESCRIPTION = (
    "SQLite bytes on disk after 100 and 500 turns, hone vs LangGraph (and on hone's saver)"
)


def langgraph_on_hone_kit() -> Kit:
    """LangGraph's runtime with hone's SqliteSaver (through ``LangGraphSaver``)."""
    from hone.checkpoint import SqliteSaver
    from hone.checkpoint.langgraph import LangGraphSaver

    return dataclasses.replace(
        langgraph_kit(),
        name="langgraph+hone",
        sqlite_saver=lambda path: LangGraphSaver(SqliteSaver(path)),
    )


def run(options: Options) -> dict[str, Any]:
    """Play the conversation on each setup and measure the files."""
    marks = (5, 25) if options.quick else (100, 500)
    rows: dict[str, dict[str, Any]] = {}
    for kit in (hone_kit(), langgraph_kit(), langgraph_on_hone_kit()):
        path = fresh_db(options.workdir / f"size-{kit.name}.db")
        row: dict[str, Any] = {}
        done = 0
        for mark in marks:
            start = time.perf_counter()
            extend(kit, path, done, mark)
            row[f"play_seconds_to_{mark}"] = round(time.perf_counter() - start, 2)
            row[f"bytes_at_{mark}"] = compacted_size(path)
            done = mark
            console.print(f"  {kit.name:15} {mark:4} turns: {row[f'bytes_at_{mark}']:>13,} bytes")
        row["growth"] = ratio(row[f"bytes_at_{marks[1]}"], row[f"bytes_at_{marks[0]}"])
        rows[kit.name] = row
    last = f"bytes_at_{marks[1]}"
    advantage = {
        name: ratio(rows["langgraph"][last], row[last])
        for name, row in rows.items()
        if name != "langgraph"
    }
    print_table(
        "SQLite file size after WAL checkpoint + VACUUM",
        [
            "setup",
            f"{marks[0]} turns (MB)",
            f"{marks[1]} turns (MB)",
            "growth",
            "LangGraph / setup",
            "play time (s)",
        ],
        [
            [
                name,
                row[f"bytes_at_{marks[0]}"] / 1e6,
                row[last] / 1e6,
                row["growth"],
                advantage.get(name),
                row[f"play_seconds_to_{marks[0]}"] + row[f"play_seconds_to_{marks[1]}"],
            ]
            for name, row in rows.items()
        ],
    )
    console.print(
        f"LangGraph / hone at {marks[1]} turns: {advantage['hone']}× (target ≥ 50×); "
        f"LangGraph's runtime on hone's saver: {advantage['langgraph+hone']}×"
    )
    return {
        "turns": list(marks),
        "measure": "file size after PRAGMA wal_checkpoint(TRUNCATE) and VACUUM",
        "savers": rows,
        "langgraph_over_setup_at_last_mark": advantage,
        "targets": {
            "hone_growth": "≈ 5 (linear)",
            "langgraph_over_hone_at_last_mark": ">= 50",
            "langgraph+hone_growth": "≈ 5 (linear)",
        },
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``python -m bench checkpoint_size [--quick]``."""
    return bench_main(NAME, DESCRIPTION, run, argv)


if __name__ == "__main__":
    main()
