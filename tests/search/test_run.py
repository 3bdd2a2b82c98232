"""search / asearch: budgets, concurrency, async generators, timeouts, progress; pictures."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest

from hone.errors import ConfigError
from hone.models import Usage
from hone.search import ABMCTSA, MCTS, Budget, asearch, plot_tree, search, to_mermaid
from hone.search._progress import make_progress

from ._landscape import generators


def test_search_spends_the_call_budget() -> None:
    state = search(ABMCTSA(), generators(0), budget=30, seed=1)
    assert len(state) == 30 and state.next_trial == 30
    more = search(ABMCTSA(), generators(0), budget=10, state=state)
    assert len(more) == 40


async def test_async_generators_run_concurrently_and_finish_in_any_order() -> None:
    running = 0
    peak = 0

    async def generate(parent: Any) -> tuple[Any, float, Usage]:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001 * (hash(str(parent)) % 5))
        running -= 1
        score = 0.5 if parent is None else min(1.0, parent[0] + 0.05)
        return [score], score, Usage(prompt_tokens=10, completion_tokens=5)

    state = await asearch(
        ABMCTSA(virtual_loss=0.0), {"A": generate}, budget=Budget(tokens=300), concurrency=4
    )
    assert peak == 4
    assert 20 <= len(state) <= 23  # stops at 300 tokens; calls in flight may overshoot
    assert state.usage.total_tokens == 15 * len(state)
    assert not state.running


def test_timeouts_and_errors_do_not_stop_the_search() -> None:
    calls = 0

    async def flaky(parent: Any) -> tuple[Any, float]:
        nonlocal calls
        calls += 1
        if calls % 3 == 0:
            await asyncio.sleep(1.0)
        if calls % 3 == 1:
            raise RuntimeError("boom")
        return [0.5], 0.5

    state = search(MCTS(), {"A": flaky}, budget=9, timeout=0.05)
    errors = sorted({(f.error or "").split(":")[0] for f in state.failures})
    assert len(state) == 3 and len(state.failures) == 6
    assert errors == ["the generator raised RuntimeError", "the generator timed out after 0.05s"]


def test_bad_run_arguments() -> None:
    with pytest.raises(ConfigError, match="no actions"):
        search(ABMCTSA(), {}, budget=3)
    with pytest.raises(ConfigError, match="unlimited"):
        search(ABMCTSA(), generators(0), budget=Budget())
    with pytest.raises(ConfigError, match="concurrency"):
        search(ABMCTSA(), generators(0), budget=3, concurrency=0)
    with pytest.raises(ConfigError, match=r"Budget\.calls"):
        Budget(calls=-1)


def test_progress_prints_plain_lines_off_a_terminal() -> None:
    stream = io.StringIO()
    view = make_progress(40, "search", stream=stream)
    search(ABMCTSA(), generators(0), budget=40, progress=view)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 20 and lines[-1].startswith("search: 40/40 calls, 40 nodes, best ")


def test_mermaid_and_png(tmp_path: Path) -> None:
    state = search(ABMCTSA(), generators(0), budget=25, seed=0)
    text = to_mermaid(state)
    assert text.startswith("graph TD\n") and text.count("-->") == 25
    best = state.best()
    assert best is not None and f"n{best.id}" in text.split("class ")[-1]
    short = to_mermaid(state, max_nodes=5, label=lambda n: f"node {n.id}")
    assert '"... 20 more nodes"' in short and '["node 3"]' in short
    png = plot_tree(state, tmp_path / "tree.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
