"""Model spec strings."""

from __future__ import annotations

from pathlib import Path

import pytest

from hone.errors import ModelLoadError, ModelSpecError
from hone.models._spec import ModelSpec, load_model, parse_spec
from hone.models._transformers import TransformersModel


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("openai:gpt-4.1", ModelSpec(kind="openai", target="gpt-4.1")),
        (
            "openai-compatible:http://localhost:8000/v1#Qwen/Qwen3-0.6B",
            ModelSpec(
                kind="openai-compatible",
                target="Qwen/Qwen3-0.6B",
                base_url="http://localhost:8000/v1",
            ),
        ),
        ("hf:/models/ckpt", ModelSpec(kind="hf", target="/models/ckpt")),
        ("hf:C:/models/ckpt", ModelSpec(kind="hf", target="C:/models/ckpt")),
        ("tiny:", ModelSpec(kind="tiny", target="")),
        ("tiny:/tmp/t", ModelSpec(kind="tiny", target="/tmp/t")),
    ],
)
def test_valid_specs(spec: str, expected: ModelSpec) -> None:
    assert parse_spec(spec) == expected


@pytest.mark.parametrize(
    "spec",
    [
        "gpt-4.1",
        "openai:",
        "openai-compatible:http://localhost:8000/v1",
        "openai-compatible:localhost:8000#m",
        "openai-compatible:#m",
        "hf:",
        "scripted:",
        "vllm:qwen",
        "",
    ],
)
def test_invalid_specs_list_the_accepted_forms(spec: str) -> None:
    with pytest.raises(ModelSpecError) as info:
        parse_spec(spec)
    message = str(info.value)
    for form in ("openai:<model>", "openai-compatible:<base_url>#<model>", "hf:", "tiny:"):
        assert form in message


def test_load_local_specs(tiny_dir: Path) -> None:
    for spec in (f"hf:{tiny_dir}", f"tiny:{tiny_dir}"):
        model = load_model(spec, max_context=64)
        assert isinstance(model, TransformersModel)
        assert model.max_context == 64


def test_load_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="nope"):
        load_model(f"hf:{tmp_path / 'nope'}")


def test_load_openai_compatible_passes_url_and_model() -> None:
    model = load_model("openai-compatible:http://127.0.0.1:9/v1#served-model", api_key="k")
    assert model.name == "served-model"


def test_load_builtin_tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_dir: Path) -> None:
    import hone.models.tiny as tiny

    monkeypatch.setattr(tiny, "ensure_tiny_model", lambda: tiny_dir)
    model = load_model("tiny:")
    assert isinstance(model, TransformersModel)
    assert model.name == tiny_dir.name
