"""Smoke test: every benchmark runs end to end at a tiny size (``--quick``) and writes JSON.

The figures of a quick run mean nothing; this only keeps the benchmarks from rotting.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("langgraph.checkpoint.sqlite", reason="the benchmarks compare with LangGraph")

# The bench package lives at the repository root, next to tests/ (not installed).
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.__main__ import BENCHMARKS, main  # noqa: E402


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_benchmark_runs_quick(name: str, tmp_path: Path) -> None:
    out = tmp_path / f"{name}.json"
    module = importlib.import_module(BENCHMARKS[name])
    report = module.main(["--quick", "--out", str(out), "--workdir", str(tmp_path / "work")])
    assert json.loads(out.read_text()) == report
    assert report["benchmark"] == name and report["quick"] is True
    assert report["machine"]["cpu_cores"] >= 1
    if name == "demo_curve":  # results name models relative to --workdir, not this machine
        assert [run["model_dir"] for run in report["runs"]] == [
            f"seed-{seed}/model" for seed in report["seeds"]
        ]


def test_listing_names_every_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in BENCHMARKS)
    assert main(["no_such_benchmark"]) == 2
