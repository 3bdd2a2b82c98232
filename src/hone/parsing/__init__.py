"""Robust parsers for what models really emit.

Every parser takes a model's raw output and returns a :class:`ParsedOutput`; none raises on
any input. Problems become ``errors`` phrased for the model, so an agent can show them and
the model can try again.

* :func:`parse_hermes` — Hermes/Qwen ``<tool_call>{...}</tool_call>`` blocks;
* :func:`parse_qwen3_coder` — Qwen3-Coder's XML ``<function=...>`` calls, typed by schema;
* :func:`parse_llama3_json` — Llama 3.x ``{"name": ..., "parameters": ...}`` calls;
* :func:`parse_mistral` — Mistral ``[TOOL_CALLS]`` calls;
* :func:`parse_json_action` — one JSON action object per turn;
* :func:`parse_structured_chat` — LangChain's ``Action:`` + fenced JSON blob;
* :func:`parse_react` — ``Thought:`` / ``Action:`` / ``Action Input:`` / ``Final Answer:``;
* :func:`parse_openai_tool_calls` — native OpenAI ``tool_calls``;
* :func:`split_thinking` and :func:`lenient_json` — the pieces they share.

Text parsers are registered by name (:func:`parser_names`, :func:`get_parser`,
:func:`resolve_parser`); :func:`detect_parser` picks one from a chat template.
"""

from hone.parsing._hermes import parse_hermes
from hone.parsing._json import lenient_json
from hone.parsing._json_action import parse_json_action
from hone.parsing._llama import parse_llama3_json
from hone.parsing._mistral import parse_mistral
from hone.parsing._openai import parse_openai_tool_calls
from hone.parsing._qwen3_coder import parse_qwen3_coder
from hone.parsing._react import parse_react
from hone.parsing._registry import (
    ParseFormat,
    Parser,
    detect_parser,
    get_parser,
    parser_names,
    resolve_parser,
)
from hone.parsing._structured_chat import parse_structured_chat
from hone.parsing._thinking import split_thinking
from hone.parsing._types import ParsedOutput

__all__ = [
    "ParseFormat",
    "ParsedOutput",
    "Parser",
    "detect_parser",
    "get_parser",
    "lenient_json",
    "parse_hermes",
    "parse_json_action",
    "parse_llama3_json",
    "parse_mistral",
    "parse_openai_tool_calls",
    "parse_qwen3_coder",
    "parse_react",
    "parse_structured_chat",
    "parser_names",
    "resolve_parser",
    "split_thinking",
]
