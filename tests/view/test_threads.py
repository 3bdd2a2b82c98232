"""Threads from a checkpoint database: history, forks, lanes, the nodes that ran and run next."""

from __future__ import annotations

import runpy
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from hone.checkpoint import InMemorySaver, SqliteSaver
from hone.errors import ConfigError
from hone.view import thread_views
from hone.view._threads import assign_lanes

graph = runpy.run_path(str(Path(__file__).with_name("graph_app.py")))["graph"]


def test_lanes_put_the_newest_line_first_and_each_fork_beside_it() -> None:
    # a <- b <- c (newest), and a <- d: d is a fork from a.
    parents = {"c": "b", "b": "a", "a": None, "d": "a"}
    assert assign_lanes(["c", "d", "b", "a"], parents) == {"c": 0, "b": 0, "a": 0, "d": 1}


def test_a_thread_with_a_fork_and_a_paused_thread(data: Any) -> None:
    with SqliteSaver.from_conn_string(str(data.checkpoints)) as saver:
        t1, t2 = thread_views(saver, graph=graph)
    assert t1.id == "t1" and t1.forks == 1
    assert len(t1.checkpoints) == 7
    newest = t1.checkpoints[0]
    assert newest.source == "update" and newest.ran == [] and newest.next == ["act"]
    assert '"count": 5' in newest.values
    assert {c.lane for c in t1.checkpoints} == {0, 1}
    loops = [c for c in t1.checkpoints if c.source == "loop"]
    assert ["act"] in [c.ran for c in loops] and ["plan"] in [c.ran for c in loops]
    finished = next(c for c in t1.checkpoints if c.step == 4)
    assert finished.next == [] and finished.ran == ["act"]
    assert t2.checkpoints[0].next == ["act"]  # paused before `act`
    svg = ET.fromstring(t1.history_svg)
    rows = [g for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "cp"]
    assert [g.get("data-checkpoint") for g in rows] == [c.id for c in t1.checkpoints]


def test_without_the_graph_the_history_is_still_shown(data: Any) -> None:
    with SqliteSaver.from_conn_string(str(data.checkpoints)) as saver:
        [t2] = thread_views(saver, thread_ids=["t2"])
    assert len(t2.checkpoints) == 3 and all(c.next == [] for c in t2.checkpoints)
    assert '"count": 0' in t2.checkpoints[0].values


def test_a_saver_that_cannot_list_threads_needs_thread_ids() -> None:
    class Bare:
        def __init__(self) -> None:
            self.inner = InMemorySaver()

        def list(self, *args: Any, **kwargs: Any) -> Any:
            return self.inner.list(*args, **kwargs)

    with pytest.raises(ConfigError, match="cannot list its threads; pass thread_ids"):
        thread_views(Bare())  # type: ignore[arg-type]


def test_an_encrypted_database_opens_with_the_key_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    from hone.checkpoint import AesGcmCipher, Serializer
    from hone.errors import CheckpointError
    from hone.view import load_view

    path = tmp_path / "sealed.db"
    key = bytes(range(32))
    with SqliteSaver.from_conn_string(
        str(path), serde=Serializer(cipher=AesGcmCipher(key))
    ) as saver:
        sealed = runpy.run_path(str(Path(__file__).with_name("graph_app.py")))["builder"]
        sealed.compile(checkpointer=saver).invoke(
            {"count": 0, "log": []}, {"configurable": {"thread_id": "secret"}}
        )
    monkeypatch.delenv("HONE_AES_KEY", raising=False)
    with pytest.raises(CheckpointError, match="encrypted"):
        load_view([path])
    monkeypatch.setenv("HONE_AES_KEY", base64.b64encode(key).decode())
    view = load_view([path])
    assert [t.id for t in view.threads] == ["secret"]
    assert Serializer.from_env().cipher is not None
