"""Model spec strings."""

from __future__ import annotations

from pathlib import Path

import pytest

from hone.errors import ModelLoadError, ModelPackageError, ModelSpecError
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


# -- object paths, resolved by the same resolver as --tools and hone graph -------------------

MODULE = """
from hone.models import ScriptedModel

backend = ScriptedModel(["hi"], name="module-backend")


def make(parser="hermes", name="made"):
    return ScriptedModel(["hi"], name=name, parser=parser)


class Factory:
    @staticmethod
    def build():
        return ScriptedModel(["hi"], name="nested")


number = 7
spec = "tiny:"
"""


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    import uuid

    name = f"spec_models_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(MODULE)
    (tmp_path / "name.txt").write_text(name)
    return tmp_path


def _module(code_dir: Path) -> str:
    return (code_dir / "name.txt").read_text()


def test_object_paths_name_backends_factories_and_files(code_dir: Path) -> None:
    mod = _module(code_dir)
    assert load_model(f"{mod}:backend", base_dir=code_dir).name == "module-backend"
    assert load_model(f"{mod}:make", base_dir=code_dir, name="kw").name == "kw"
    assert load_model(f"{mod}:Factory.build", base_dir=code_dir).name == "nested"
    assert load_model(f"{code_dir / mod}.py:backend").name == "module-backend"
    assert load_model(f"{mod}.py:make", base_dir=code_dir, parser="react").parser_name == "react"


def test_module_names_are_looked_up_in_the_current_directory(
    code_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.chdir(code_dir)
    assert str(code_dir) not in sys.path
    assert load_model(f"{_module(code_dir)}:backend").name == "module-backend"
    assert str(code_dir) not in sys.path  # only while importing


@pytest.mark.parametrize(
    ("attr", "kwargs", "needle"),
    [
        ("number", {}, "names a value of type int, not a model"),
        ("spec", {}, "names a string"),
        ("backend", {"parser": "react"}, "ready-made model"),
        ("make", {"colour": "red"}, "cannot be called with ['colour']"),
        ("bakend", {}, "did you mean 'backend'?"),
    ],
)
def test_object_path_errors_name_the_spec(
    code_dir: Path, attr: str, kwargs: dict[str, str], needle: str
) -> None:
    spec = f"{_module(code_dir)}:{attr}"
    with pytest.raises(ModelSpecError) as info:
        load_model(spec, base_dir=code_dir, **kwargs)
    assert needle in str(info.value) and spec in str(info.value)


def test_a_missing_module_is_reported_as_such(tmp_path: Path) -> None:
    with pytest.raises(ModelSpecError) as info:
        load_model("my_model:agent", base_dir=tmp_path)
    message = str(info.value)
    assert "no module named 'my_model'" in message and str(tmp_path) in message
    assert "kind" not in message.split(";")[0]


def test_langchain_provider_prefixes_are_not_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    # 'cohere' is importable in some environments; as a prefix it names LangChain's provider.
    monkeypatch.setattr("hone.models._spec.module_exists", lambda *a, **k: True)
    with pytest.raises(ModelSpecError) as info:
        load_model("cohere:command")
    # hone's own words without the `langchain` package, init_chat_model's with it: both name
    # the provider package to install.
    message = str(info.value)
    assert "'cohere" in message and "langchain-cohere" in message
    # A missing provider package is also an ImportError, which code written for LangChain's
    # init_chat_model catches.
    assert isinstance(info.value, ImportError) and isinstance(info.value, ModelPackageError)


def test_parse_spec_explains_object_paths() -> None:
    with pytest.raises(ModelSpecError, match="reads as an object path"):
        parse_spec("my_model:agent")


def test_relative_checkpoints_resolve_from_base_dir(tiny_dir: Path) -> None:
    model = load_model(f"hf:{tiny_dir.name}", base_dir=tiny_dir.parent, max_context=64)
    assert isinstance(model, TransformersModel)


@pytest.mark.parametrize(
    ("files", "missing"),
    [
        ((), "config.json"),
        (("config.json", "model.safetensors"), "tokenizer files"),
        (("config.json", "tokenizer_config.json"), "weights"),
    ],
)
def test_checkpoint_folders_are_checked_before_loading(
    tmp_path: Path, files: tuple[str, ...], missing: str
) -> None:
    for name in files:
        (tmp_path / name).write_text("{}")
    with pytest.raises(
        ModelLoadError, match=f"is not a Hugging Face checkpoint: it has no {missing}"
    ):
        load_model(f"hf:{tmp_path}")


def test_a_file_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_text("")
    with pytest.raises(ModelLoadError, match="is a file"):
        load_model(f"hf:{path}")
