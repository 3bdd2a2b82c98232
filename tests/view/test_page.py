"""The page (self-contained, data safely embedded), the ASGI app and ``hone view``."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from hone.cli import app
from hone.trajectory import TRAJECTORY_VERSION, Episode, write_jsonl
from hone.view import build_view, load_view, render_page, viewer_app
from hone.view._page import page_json

from .conftest import GRAPH_TARGET


def embedded(page: str) -> Any:
    match = re.search(r'<script type="application/json" id="hone-data">(.*?)</script>', page, re.S)
    assert match is not None
    return json.loads(match.group(1))


def test_hostile_text_cannot_leave_the_data_element() -> None:
    evil = "</script><script>alert(1)</script> & <!--"
    episode = Episode(task_id=evil, task={"q": evil}, reward=float("nan"))
    page = render_page(build_view(title=evil, episodes=[episode]))
    assert page.count("</script>") == 2  # the data element's and the code's own
    data = embedded(page)
    assert data["episodes"][0]["task_id"] == evil
    assert data["episodes"][0]["reward"] == "nan"  # not invalid JSON
    assert "<title>&lt;/script&gt;" in page


def test_episodes_in_memory_may_hold_any_task_object() -> None:
    when = datetime.date(2026, 1, 2)
    [shown] = build_view(episodes=[Episode(task_id="t", task={"when": when})]).episodes
    assert "datetime.date(2026, 1, 2)" in shown.task


def test_the_page_needs_no_network() -> None:
    page = render_page(build_view())
    assert "default-src 'none'" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", page)
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page


def test_the_app_serves_the_page_and_its_data_fresh_per_request(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    path = tmp_path / "eps.jsonl"
    write_jsonl([Episode(task_id="first", reward=1.0)], path)
    client = TestClient(viewer_app(lambda: load_view([path])))
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert embedded(page.text)["episodes"][0]["task_id"] == "first"
    write_jsonl([Episode(task_id="second", reward=0.0)], path)
    assert client.get("/data.json").json()["episodes"][0]["task_id"] == "second"
    assert client.get("/nope").status_code == 404
    fixed = build_view(title="fixed")
    static = TestClient(viewer_app(fixed))
    assert static.get("/data.json").text == page_json(fixed)


def test_hone_view_writes_the_page(data: Any, tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    args = ["view", str(data.run_dir), str(data.agent_jsonl), str(data.checkpoints)]
    args += ["--graph", GRAPH_TARGET, "--tokenizer", str(data.run_dir / "model"), "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "15 episodes, 7 groups, 2 threads, 1 training run" in result.output
    shown = embedded(out.read_text())
    assert shown["graph_name"] == "planner" and 'data-node="act"' in shown["graph_svg"]
    assert [t["id"] for t in shown["threads"]] == ["t1", "t2"]


def test_hone_view_refuses_bad_input_in_one_line(data: Any, tmp_path: Path) -> None:
    newer = tmp_path / "newer.jsonl"
    newer.write_text(
        json.dumps(Episode(task_id="t").to_dict() | {"version": TRAJECTORY_VERSION + 1})
    )
    result = CliRunner().invoke(app, ["view", str(newer), "-o", str(tmp_path / "p.html")])
    assert result.exit_code == 1
    assert f"written with trajectory schema version {TRAJECTORY_VERSION + 1}" in result.output
    assert not (tmp_path / "p.html").exists()
    both = CliRunner().invoke(app, ["view", str(data.agent_jsonl), "--serve", "-o", "x.html"])
    assert both.exit_code == 1 and "not both" in both.output
    graph = CliRunner().invoke(app, ["view", str(data.agent_jsonl), "--graph", "nope"])
    assert graph.exit_code == 1 and "does not name a graph" in graph.output
