"""The parser per backend: ``parser=`` on ScriptedModel and TransformersModel, detected from the
chat template when not given, reported by ``parser_name``, fed the tools and the cut-off."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from hone.errors import ConfigError
from hone.models._protocol import SamplingOptions, make_request
from hone.models._scripted import ScriptedModel
from hone.models._tiny_corpus import default_corpus
from hone.models._transformers import TransformersModel
from hone.models.tiny import CHAT_TEMPLATE, TinyConfig, build_tiny_model
from hone.parsing import ParsedOutput, parse_hermes

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "wait",
            "parameters": {"type": "object", "properties": {"seconds": {"type": "integer"}}},
        },
    }
]
CODER_CALL = (
    "<tool_call>\n<function=wait>\n<parameter=seconds>\n5\n</parameter>\n</function>\n</tool_call>"
)
# A Qwen3-Coder-like template: it renders calls as <function=...> blocks.
CODER_TEMPLATE = CHAT_TEMPLATE.replace(
    "For each function call, return a json object with function name",
    "For each function call, reply with <tool_call>\\n<function=NAME>\\n<parameter=ARG>\\n"
    "value\\n</parameter>\\n</function>\\n</tool_call>; it takes the function name",
)


class Recording:
    """A parser function that records what it was given."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, tuple[Mapping[str, Any], ...], bool]] = []

    def __call__(
        self, text: str, *, tools: Sequence[Mapping[str, Any]] = (), truncated: bool = False
    ) -> ParsedOutput:
        self.seen.append((text, tuple(tools), truncated))
        return parse_hermes(text, truncated=truncated)


async def test_scripted_model_parses_with_the_named_parser_and_the_request_tools() -> None:
    model = ScriptedModel([CODER_CALL], parser="qwen3_coder")
    assert model.parser_name == "qwen3_coder"
    completion = await model.complete(make_request("wait", tools=TOOLS))
    assert completion.message.tool_calls[0].arguments == {"seconds": 5}  # typed by the schema


async def test_scripted_model_default_is_hermes_and_takes_a_function() -> None:
    assert ScriptedModel(["x"]).parser_name == "hermes"
    recording = Recording()
    model = ScriptedModel(["hello"], parser=recording)
    assert model.parser_name == "Recording"
    await model.complete(make_request("hi", tools=TOOLS))
    assert recording.seen == [("hello", tuple(TOOLS), False)]


def test_scripted_model_refuses_an_unknown_parser() -> None:
    with pytest.raises(ConfigError, match="unknown parse format 'xml'"):
        ScriptedModel(["x"], parser="xml")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = TinyConfig(
        hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate=64, max_position=512,
        vocab_size=512,
    )  # fmt: skip
    return build_tiny_model(
        tmp_path_factory.mktemp("tiny"), corpus=default_corpus(200), config=config
    )


@pytest.fixture
def tiny(tiny_dir: Path) -> Iterator[TransformersModel]:
    yield TransformersModel.from_pretrained(tiny_dir)


def test_transformers_model_detects_the_parser_from_the_template(tiny: TransformersModel) -> None:
    assert tiny.parser_name == "hermes"  # the tiny model's Qwen-style template
    tiny.tokenizer.chat_template = CODER_TEMPLATE
    coder = TransformersModel(tiny.model, tiny.tokenizer)
    assert coder.parser_name == "qwen3_coder"
    given = TransformersModel(tiny.model, tiny.tokenizer, parser="react")
    assert given.parser_name == "react"


def test_transformers_model_refuses_a_function_without_the_parser_keywords(
    tiny: TransformersModel,
) -> None:
    def text_only(text: str) -> ParsedOutput:
        return ParsedOutput(text)

    with pytest.raises(ConfigError, match="must accept"):
        TransformersModel(tiny.model, tiny.tokenizer, parser=text_only)  # type: ignore[arg-type]


async def test_transformers_model_tells_the_parser_the_tools_and_the_cut(tiny_dir: Path) -> None:
    recording = Recording()
    model = TransformersModel.from_pretrained(tiny_dir, parser=recording)
    assert model.parser_name == "Recording"
    cut = SamplingOptions(max_tokens=3, temperature=0.0)
    completion = await model.complete(make_request("hello", tools=TOOLS, options=cut))
    assert completion.finish_reason == "length"
    ((text, tools, truncated),) = recording.seen
    assert (text, tools, truncated) == (completion.text, tuple(TOOLS), True)
    assert completion.text  # greedy: the same request samples the same text again, so a
    stop = SamplingOptions(max_tokens=3, temperature=0.0, stop=(completion.text[:1],))
    stopped = await model.complete(make_request("hello", tools=TOOLS, options=stop))  # stop hit
    assert stopped.finish_reason == "stop" and recording.seen[-1][2] is False
