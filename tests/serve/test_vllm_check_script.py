"""scripts/vllm_check.py end to end on CPU: pointed (``--url``) at ``hone serve`` with adapters
over the tiny model, it makes two adapters, compares with local copies and passes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from hone.models._transformers import TransformersModel
from hone.serve import AdapterPool, create_app, running_server

from ._lora_fixtures import build_base

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "vllm_check.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vllm_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_gpu_script_passes_against_hone_serve(tmp_path: Path) -> None:
    base = build_base(tmp_path / "base")
    model = TransformersModel.from_pretrained(base)
    app = create_app(model, model_name="base", adapters=AdapterPool(model))
    out = tmp_path / "report.json"
    with running_server(app) as url:
        status = load_script().main(
            [
                "--model", str(base), "--url", url, "--device", "cpu", "--dtype", "float32",
                "--tolerance", "1e-4", "--rank", "4", "--workdir", str(tmp_path / "work"),
                "--out", str(out),
            ]
        )  # fmt: skip
    report = json.loads(out.read_text())
    assert status == 0, report
    assert [r["name"] for r in report["results"] if r["ok"]] == [
        "token_ids",
        "adapter_parity",
        "load_unload",
        "pause_resume",
        "publish_under_load",
    ]
