"""``with_structured_output``: a model whose replies come back parsed into a schema.

The schema (a pydantic model, a TypedDict or a JSON-schema dict) goes into the request: as
OpenAI's ``response_format`` (``method="json_schema"``, the default, or ``"json_mode"``), or
as one tool the model is made to call (``"function_calling"``). Backends that honour the
request constrain the reply; every reply is parsed and validated here either way, so a
backend that does not honour it still gives either the parsed value or a
:class:`~hone.errors.StructuredOutputError` that names the schema and the problem.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ValidationError

from hone._sync import run_sync
from hone.errors import ConfigError, StructuredOutputError
from hone.interop._messages import from_langchain, is_langchain_message
from hone.messages import AssistantMessage
from hone.models._bound import Binding, BoundModel
from hone.models._chat import ModelInput, iterate_sync
from hone.tools._convert import typed_dict_adapter
from hone.tools._jsonschema import validate_json
from hone.tools._schema import clean_schema

__all__ = ["OutputSchema", "StructuredModel", "output_schema"]

Method: TypeAlias = Literal["json_schema", "function_calling", "json_mode"]
_METHODS = ("json_schema", "function_calling", "json_mode")
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n?\s*```\s*$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class OutputSchema:
    """A schema read once: its name, JSON schema, and how to turn JSON into the user's type."""

    name: str
    description: str
    json_schema: dict[str, Any]
    #: JSON value → the user's value; raises ValueError (or pydantic's error) when it does
    #: not fit.
    parse: Callable[[Any], Any]


def _check_json(schema: Mapping[str, Any]) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        problems = validate_json(value, schema)
        if problems:
            raise ValueError("; ".join(problems))
        return value

    return parse


def _dict_schema(schema: Mapping[str, Any]) -> OutputSchema:
    if schema.get("type") == "function" and isinstance(schema.get("function"), Mapping):
        schema = schema["function"]
    if isinstance(schema.get("name"), str) and "parameters" in schema:  # an OpenAI function
        body = dict(schema["parameters"])
        return OutputSchema(
            schema["name"], str(schema.get("description", "")), body, _check_json(body)
        )
    name = schema.get("title")
    if not isinstance(name, str) or not name:
        name = "output"
    body = {k: v for k, v in schema.items() if k != "title"}
    return OutputSchema(name, str(schema.get("description", "")), body, _check_json(body))


def output_schema(schema: Any, *, strict: bool = False) -> OutputSchema:
    """Read a pydantic model class, a TypedDict class or a JSON-schema dict (or an OpenAI
    function/tool dict).

    Raises:
        ConfigError: anything else; the message says what is accepted.
    """
    if isinstance(schema, Mapping):
        return _dict_schema(schema)
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        doc = (schema.__doc__ or "").strip() if schema.__doc__ != BaseModel.__doc__ else ""
        body = clean_schema(schema.model_json_schema(), all_required=strict)
        return OutputSchema(schema.__name__, doc, body, schema.model_validate)
    if isinstance(schema, type) and typing.is_typeddict(schema):
        adapter = typed_dict_adapter(schema)
        body = clean_schema(adapter.json_schema(), all_required=strict)
        return OutputSchema(
            schema.__name__, (schema.__doc__ or "").strip(), body, adapter.validate_python
        )
    raise ConfigError(
        f"with_structured_output needs a pydantic model class, a TypedDict class or a JSON "
        f"schema dict, got {schema!r}"
    )


def _decode(text: str) -> Any:
    fenced = _FENCE.match(text)
    return json.loads(fenced.group(1) if fenced else text)


def _problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
    return str(exc)


class StructuredModel:
    """A model whose replies come back parsed; made by ``with_structured_output``.

    ``invoke`` / ``ainvoke`` / ``batch`` / ``abatch`` return the parsed value (or, with
    ``include_raw``, ``{"raw", "parsed", "parsing_error"}``); ``stream`` / ``astream`` yield
    it once, when the reply is complete.
    """

    def __init__(
        self, model: BoundModel, schema: OutputSchema, *, method: Method, include_raw: bool
    ) -> None:
        self.model = model
        self.schema = schema
        self.method = method
        self.include_raw = include_raw

    @classmethod
    def build(
        cls,
        model: Any,
        schema: Any,
        *,
        method: str = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> StructuredModel:
        """The structured model for ``model`` (see ``ChatSurface.with_structured_output``).

        Raises:
            ConfigError: a bad schema, method or argument.
        """
        if kwargs:
            raise ConfigError(f"with_structured_output got unknown arguments {sorted(kwargs)}")
        if method not in _METHODS:
            raise ConfigError(f"method must be one of {', '.join(_METHODS)}, got {method!r}")
        if schema is None and method != "json_mode":
            raise ConfigError("a schema is needed, except with method='json_mode'")
        read = (
            output_schema(schema, strict=bool(strict))
            if schema is not None
            else OutputSchema("json_object", "", {"type": "object"}, lambda v: v)
        )
        return cls(
            BoundModel.over(model, _binding(read, method, strict)),
            read,
            method=method,  # type: ignore[arg-type]
            include_raw=include_raw,
        )

    def __repr__(self) -> str:
        return (
            f"StructuredModel({self.model!r}, schema={self.schema.name!r}, method={self.method!r})"
        )

    def parse(self, reply: Any) -> Any:
        """The value a reply (hone or LangChain message) carries.

        Raises:
            StructuredOutputError: it does not fit the schema; the message says why.
        """
        message = from_langchain(reply) if is_langchain_message(reply) else reply
        if not isinstance(message, AssistantMessage):
            raise StructuredOutputError(self.schema.name, "the reply is not a model turn", reply)
        if self.method == "function_calling":
            calls = [c for c in message.tool_calls if c.name == self.schema.name]
            if not calls:
                raise StructuredOutputError(
                    self.schema.name, f"the model did not call {self.schema.name!r}", reply
                )
            if calls[0].error is not None:
                raise StructuredOutputError(self.schema.name, calls[0].error, reply)
            value: Any = calls[0].arguments
        else:
            try:
                value = _decode(message.text)
            except json.JSONDecodeError as exc:
                raise StructuredOutputError(
                    self.schema.name, f"the reply is not JSON ({exc.msg})", reply
                ) from exc
        try:
            return self.schema.parse(value)
        except (ValueError, ValidationError) as exc:
            raise StructuredOutputError(self.schema.name, _problem(exc), reply) from exc

    def _result(self, reply: Any) -> Any:
        if not self.include_raw:
            return self.parse(reply)
        try:
            return {"raw": reply, "parsed": self.parse(reply), "parsing_error": None}
        except StructuredOutputError as exc:
            return {"raw": reply, "parsed": None, "parsing_error": exc}

    async def ainvoke(
        self, input: ModelInput, config: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Any:
        """The parsed reply to one conversation."""
        return self._result(await self.model.ainvoke(input, config, **kwargs))

    def invoke(
        self, input: ModelInput, config: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Any:
        """The synchronous :meth:`ainvoke`."""
        return run_sync(self.ainvoke(input, config, **kwargs))

    async def abatch(
        self, inputs: Sequence[ModelInput], config: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> list[Any]:
        """The parsed replies to many conversations (one batched model call)."""
        replies = await self.model.abatch(inputs, config, **kwargs)
        return [r if isinstance(r, BaseException) else self._result(r) for r in replies]

    def batch(
        self, inputs: Sequence[ModelInput], config: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> list[Any]:
        """The synchronous :meth:`abatch`."""
        return run_sync(self.abatch(inputs, config, **kwargs))

    async def astream(
        self, input: ModelInput, config: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        """Yield the parsed reply once it is complete."""
        yield await self.ainvoke(input, config, **kwargs)

    def stream(
        self, input: ModelInput, config: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        """The synchronous :meth:`astream`."""
        return iterate_sync(lambda: self.astream(input, config, **kwargs))


def _binding(schema: OutputSchema, method: str, strict: bool | None) -> Binding:
    if method == "function_calling":
        function: dict[str, Any] = {
            "name": schema.name,
            "description": schema.description,
            "parameters": schema.json_schema,
        }
        if strict is not None:
            function["strict"] = strict
        return Binding(
            tools=({"type": "function", "function": function},),
            tool_choice={"type": "function", "function": {"name": schema.name}},
            parallel_tool_calls=False,
        )
    if method == "json_mode":
        return Binding(response_format={"type": "json_object"})
    return Binding(
        response_format={
            "type": "json_schema",
            "json_schema": {
                "name": schema.name,
                "schema": schema.json_schema,
                "strict": bool(strict),
            },
        }
    )
