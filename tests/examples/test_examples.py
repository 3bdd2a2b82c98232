"""Every example script under ``examples/`` runs to completion offline and exits 0.

Examples are found by glob, so new ones are tested without touching this file. They run
in-process (``runpy`` as ``__main__``) from a scratch directory, which is much faster than a
fresh interpreter each; one example also runs as a real script to check the command line.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.rglob("*.py"))


def test_examples_are_found() -> None:
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(EXAMPLES_DIR)))
def test_example_runs(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(path)])
    monkeypatch.syspath_prepend(str(path.parent))
    try:
        runpy.run_path(str(path), run_name="__main__")
    except SystemExit as exc:
        assert exc.code in (None, 0), f"{path.name} exited with {exc.code!r}"
    assert capsys.readouterr().out.strip(), f"{path.name} printed nothing"


def test_an_example_runs_as_a_script() -> None:
    script = EXAMPLES_DIR / "hitl" / "approve_or_reject.py"
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "outcome: cancelled by the reviewer" in done.stdout
