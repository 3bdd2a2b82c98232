"""The page end to end in a real headless Chromium (Debian's ``chromium`` package, driven by
Playwright): it loads with no network, a click opens an episode, the expected tokens and
numbers are on the page, and a screenshot is taken.

``HONE_VIEWER_SCREENSHOT=docs/images/viewer.png`` also saves the docs' screenshot there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from hone.view import load_view, write_page

from .conftest import GRAPH_TARGET

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium: apt-get install chromium"),
    pytest.mark.slow,
]


@pytest.fixture
def page_file(data: Any, tmp_path: Path) -> tuple[Path, Any]:
    from hone.cli._graph import load_graph

    view = load_view(
        [data.run_dir, data.agent_jsonl, data.checkpoints],
        graph=load_graph(GRAPH_TARGET),
        tokenizer=data.run_dir / "model",
        title="say-the-number run · add agent · planner threads",
    )
    return write_page(view, tmp_path / "page.html"), view


def test_the_viewer_in_chromium(page_file: tuple[Path, Any], tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    path, view = page_file
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            requests: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(path.as_uri())
            _episodes(page, view)
            _agent_episode(page, view, tmp_path)
            _groups(page, view)
            _threads(page)
            _training(page, view)
            assert errors == []
            assert all(url.startswith(("file:", "data:")) for url in requests), requests
        finally:
            browser.close()


def _episodes(page: Any, view: Any) -> None:
    assert (
        page.locator("nav button[data-tab=episodes]").inner_text()
        == f"Episodes{len(view.episodes)}"
    )
    episode = next(e for e in view.episodes if e.task_id == "a" and e.advantage)
    page.click(f'.item[data-episode="{episode.id}"]')
    detail = page.locator(f'[data-testid=episode][data-episode="{episode.id}"]')
    assert detail.locator("[data-stat=reward]").inner_text() == f"{episode.reward:.3f}"
    assert detail.locator("[data-stat=advantage]").inner_text() == f"{episode.advantage:.3f}"
    sampled = [t for s in episode.sequences for t in s.tokens if t.sampled]
    shown = page.locator("[data-testid=tokens] .tok.sampled")
    assert shown.count() == len(sampled)
    for i, token in enumerate(sampled):
        title = shown.nth(i).get_attribute("title")
        assert f"token {token.id} · sampled" in title and f"logprob {token.logprob:.3f}" in title
        assert "in the loss mask" in title
        assert shown.nth(i).inner_text() == token.text.replace("\n", "↵\n")


def _agent_episode(page: Any, view: Any, tmp_path: Path) -> None:
    episode = next(e for e in view.episodes if e.task_id == "sum-3-4" and e.reward == 1.0)
    page.click(f'.item[data-episode="{episode.id}"]')
    assert page.locator("[data-testid=answer]").inner_text() == "The answer is 7."
    assert page.locator(".toolcall").first.inner_text() == 'add({"a": 3, "b": 4})'
    tokens = page.locator("[data-testid=tokens]")
    assert tokens.locator(".tok").first.inner_text() == "<|im_start|>"
    folded = tokens.locator(".tok").count()
    page.locator("[data-testid=fold]").first.click()
    assert tokens.locator(".tok").count() > folded
    page.screenshot(path=str(tmp_path / "episode.png"), full_page=True)
    assert (tmp_path / "episode.png").stat().st_size > 10_000
    docs = os.environ.get("HONE_VIEWER_SCREENSHOT")
    if docs:
        page.reload()
        page.click(f'.item[data-episode="{episode.id}"]')
        page.screenshot(path=docs, full_page=True)


def _groups(page: Any, view: Any) -> None:
    page.click("nav button[data-tab=groups]")
    group = view.groups[0]
    assert page.locator("#group-columns .column").count() == len(group.episode_ids)
    first = next(e for e in view.episodes if e.id == group.episode_ids[0])
    column = page.locator(f'#group-columns .column[data-episode="{first.id}"]')
    reward = "—" if first.reward is None else f"{first.reward:.3f}"
    assert f"R {reward}" in column.inner_text()
    assert first.advantage_note in ("excluded: no reward", "")
    column.locator("button.open").click()
    assert page.locator(f'[data-testid=episode][data-episode="{first.id}"]').is_visible()


def _threads(page: Any) -> None:
    page.click("nav button[data-tab=threads]")
    thread = page.locator('[data-thread="t1"]')
    assert "1 fork" in (thread.locator("h2").text_content() or "")
    assert thread.locator('.gnode.next[data-node="act"]').count() == 1  # the newest: next act
    thread.locator(".cp").nth(1).click()  # step 4: `act` ran, the run is over
    assert thread.locator('.gnode.ran[data-node="act"]').count() == 1
    assert thread.locator('.gnode.next[data-node="__end__"]').count() == 1
    paused = page.locator('[data-thread="t2"]')
    assert paused.locator('.gnode.next[data-node="act"]').count() == 1


def _training(page: Any, view: Any) -> None:
    page.click("nav button[data-tab=training]")
    [run] = view.runs
    assert page.locator("svg.curve").count() == len(run.curves)
    reward = page.locator('svg.curve[data-key="reward"] .clast').text_content()
    assert reward == f"{run.curves[0].points[-1][1]:.3g}"
