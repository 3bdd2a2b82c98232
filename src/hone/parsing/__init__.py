"""Robust parsers for what models really emit.

Every parser takes a model's raw output and returns a :class:`ParsedOutput`; none raises on
any input. Problems become ``errors`` phrased for the model, so an agent can show them and
the model can try again.

* :func:`parse_hermes` — Hermes/Qwen ``<tool_call>{...}</tool_call>`` blocks;
* :func:`parse_json_action` — one JSON action object per turn;
* :func:`parse_react` — ``Thought:`` / ``Action:`` / ``Action Input:`` / ``Final Answer:``;
* :func:`parse_openai_tool_calls` — native OpenAI ``tool_calls``;
* :func:`split_thinking` and :func:`lenient_json` — the pieces they share.
"""

from hone.parsing._hermes import parse_hermes
from hone.parsing._json import lenient_json
from hone.parsing._json_action import parse_json_action
from hone.parsing._openai import parse_openai_tool_calls
from hone.parsing._react import parse_react
from hone.parsing._registry import ParseFormat, Parser, get_parser
from hone.parsing._thinking import split_thinking
from hone.parsing._types import ParsedOutput

__all__ = [
    "ParseFormat",
    "ParsedOutput",
    "Parser",
    "get_parser",
    "lenient_json",
    "parse_hermes",
    "parse_json_action",
    "parse_openai_tool_calls",
    "parse_react",
    "split_thinking",
]
