"""From a Python function to a JSON schema the model sees, and a validator for what it sends.

The signature becomes a pydantic model (one field per parameter, the docstring's ``Args:``
texts as field descriptions); the model's JSON schema, cleaned up for function calling, is
the tool's ``parameters``; the same model validates the arguments at call time.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from hone.errors import ToolArgumentsError, ToolDefinitionError
from hone.tools._context import is_context_annotation
from hone.tools._docstring import parse_docstring
from hone.tools._injected import InjectedParam, find_injection

__all__ = [
    "FunctionSignature",
    "clean_schema",
    "context_parameter",
    "describe_validation_error",
    "injected_parameters",
    "inspect_function",
    "unwrap_partial",
]

_VAR_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
_MAX_INPUT_REPR = 80


@dataclass(frozen=True, slots=True)
class FunctionSignature:
    """What a tool needs to know about the function it wraps."""

    #: The docstring's summary, "" when there is none.
    description: str
    #: The JSON schema of the model-visible parameters.
    parameters: dict[str, Any]
    #: Validates model-sent arguments; one field per model-visible parameter.
    model: type[BaseModel]
    #: Model-visible parameter names, in signature order.
    names: tuple[str, ...]
    #: The parameter that receives the ToolContext, if any.
    context_param: str | None
    #: Positional-only parameter names in order, the context's included (they cannot be
    #: passed by keyword).
    positional: tuple[str, ...]
    #: The parameters the caller fills (``InjectedState``, ``ToolRuntime``, ...), hidden from
    #: the model like the context's.
    injected: tuple[InjectedParam, ...] = ()

    def validate(self, tool_name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Validated Python values by parameter name (nested models stay model instances).

        Raises:
            ToolArgumentsError: one problem per rejected field.
        """
        try:
            instance = self.model.model_validate(dict(arguments))
        except ValidationError as exc:
            raise ToolArgumentsError(tool_name, describe_validation_error(exc, self.names)) from exc
        return {name: getattr(instance, f"p{i}") for i, name in enumerate(self.names)}


def unwrap_partial(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The function inside (nested) ``functools.partial`` objects; docs and names live there."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    return fn


def _signature(fn: Callable[..., Any], func_name: str) -> inspect.Signature:
    try:
        return inspect.signature(fn, eval_str=True)
    except (NameError, SyntaxError, TypeError) as exc:
        raise ToolDefinitionError(
            f"cannot read the type hints of {func_name!r}: {exc}. Define every type the "
            "signature names at module level (or import it) so the annotations resolve."
        ) from exc
    except ValueError as exc:
        raise ToolDefinitionError(f"{func_name!r} has no inspectable signature: {exc}") from exc


def context_parameter(fn: Callable[..., Any], func_name: str) -> str | None:
    """The name of the parameter annotated ``ToolContext``, or None.

    Raises:
        ToolDefinitionError: more than one parameter asks for the context.
    """
    names = [
        p.name
        for p in _signature(fn, func_name).parameters.values()
        if is_context_annotation(p.annotation)
    ]
    if len(names) > 1:
        raise ToolDefinitionError(
            f"{func_name!r} has several ToolContext parameters ({', '.join(names)}); keep one."
        )
    return names[0] if names else None


def _injected(param: inspect.Parameter, func_name: str) -> InjectedParam | None:
    where = f"parameter {param.name!r} of {func_name!r}"
    marker = find_injection(param.annotation, where=where)
    if marker is None:
        return None
    if is_context_annotation(param.annotation):
        raise ToolDefinitionError(
            f"{where} asks for the ToolContext and is marked for injection ({marker!r}); "
            "a parameter receives one or the other"
        )
    optional = param.default is not inspect.Parameter.empty
    return InjectedParam(name=param.name, marker=marker, optional=optional)


def injected_parameters(fn: Callable[..., Any], func_name: str) -> tuple[InjectedParam, ...]:
    """The parameters of ``fn`` that a marker (``Annotated[T, InjectedState]``,
    ``runtime: ToolRuntime``, ...) says the caller fills, in signature order.

    Raises:
        ToolDefinitionError: a parameter with two markers, or with a marker and the
            ``ToolContext`` annotation.
    """
    found = (_injected(p, func_name) for p in _signature(fn, func_name).parameters.values())
    return tuple(p for p in found if p is not None)


def _check_parameter(param: inspect.Parameter, func_name: str) -> None:
    if param.kind in _VAR_KINDS:
        star = "*" if param.kind is inspect.Parameter.VAR_POSITIONAL else "**"
        raise ToolDefinitionError(
            f"tool function {func_name!r} takes {star}{param.name}; a tool needs a fixed set of "
            "named parameters. Replace it with explicit typed parameters (or one parameter "
            "typed as a pydantic model)."
        )
    if param.annotation is inspect.Parameter.empty:
        hint = (
            " (decorate the bound method, not the function in the class body)"
            if param.name == "self"
            else ""
        )
        raise ToolDefinitionError(
            f"parameter {param.name!r} of tool function {func_name!r} has no type hint; add one "
            f"(for example `{param.name}: str`) so the model knows what to send{hint}."
        )


def _field(annotation: Any, default: Any, description: str | None, alias: str) -> tuple[Any, Any]:
    # The docstring's text goes first, so a description given explicitly in
    # Annotated[..., Field(description=...)] wins over it.
    doc_field = Field(alias=alias, description=description) if description else Field(alias=alias)
    annotated: Any
    if get_origin(annotation) is Annotated:
        base, *metadata = get_args(annotation)
        annotated = Annotated[(base, doc_field, *metadata)]
    else:
        annotated = Annotated[annotation, doc_field]
    # A pydantic ``Field(...)`` used as the default merges with the field built here.
    return (annotated, ... if default is inspect.Parameter.empty else default)


def inspect_function(
    fn: Callable[..., Any], *, func_name: str, all_required: bool = False
) -> FunctionSignature:
    """Read a function's signature and docstring into a :class:`FunctionSignature`.

    ``all_required`` lists every parameter in ``required`` (OpenAI strict mode); otherwise
    only those without a default are.

    Parameters marked for injection (see :func:`injected_parameters`) are left out of the
    schema, as the ``ToolContext`` parameter is.

    Raises:
        ToolDefinitionError: a parameter without a type hint, ``*args``/``**kwargs``, several
            ToolContext parameters, a parameter marked twice, or a type pydantic cannot
            describe.
    """
    signature = _signature(fn, func_name)
    doc = parse_docstring(inspect.getdoc(unwrap_partial(fn)))
    context_param = context_parameter(fn, func_name)
    injected = injected_parameters(fn, func_name)
    hidden = {context_param, *(p.name for p in injected)}
    fields: dict[str, Any] = {}
    names: list[str] = []
    positional: list[str] = []
    for param in signature.parameters.values():
        _check_parameter(param, func_name)
        if param.kind is inspect.Parameter.POSITIONAL_ONLY:
            positional.append(param.name)
        if param.name in hidden:
            continue
        fields[f"p{len(names)}"] = _field(
            param.annotation, param.default, doc.params.get(param.name), param.name
        )
        names.append(param.name)
    try:
        model = create_model(
            f"{func_name}_arguments", __config__=ConfigDict(extra="forbid"), **fields
        )
        raw_schema = model.model_json_schema()
    except Exception as exc:  # pydantic raises several types for unsupported annotations
        raise ToolDefinitionError(
            f"cannot build a JSON schema for tool function {func_name!r}: {exc}. Use JSON-friendly "
            "types (str, int, float, bool, list, dict, Literal, Enum, pydantic models)."
        ) from exc
    return FunctionSignature(
        description=doc.description,
        parameters=clean_schema(raw_schema, all_required=all_required),
        model=model,
        names=tuple(names),
        context_param=context_param,
        positional=tuple(positional),
        injected=injected,
    )


def _schema_children(node: dict[str, Any]) -> list[dict[str, Any]]:
    children: list[dict[str, Any]] = []
    for key in ("items", "additionalProperties", "not", "contains"):
        if isinstance(node.get(key), dict):
            children.append(node[key])
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        children.extend(s for s in node.get(key, ()) if isinstance(s, dict))
    if isinstance(node.get("properties"), dict):
        children.extend(s for s in node["properties"].values() if isinstance(s, dict))
    return children


def _inline_refs(node: Any, defs: Mapping[str, Any], stack: tuple[str, ...], kept: set[str]) -> Any:
    """A copy of ``node`` with local ``$ref``s replaced by their definitions.

    Recursive references cannot be inlined; they stay as ``$ref`` and their names go into
    ``kept`` so the caller keeps those definitions.
    """
    if isinstance(node, list):
        return [_inline_refs(v, defs, stack, kept) for v in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        if name in stack or name not in defs:
            kept.add(name)
            return dict(node)
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        target = _inline_refs(defs[name], defs, (*stack, name), kept)
        return {**target, **_inline_refs(siblings, defs, stack, kept)}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {k: _inline_refs(v, defs, stack, kept) for k, v in value.items()}
        else:
            out[key] = _inline_refs(value, defs, stack, kept)
    return out


def _tidy(node: dict[str, Any], *, all_required: bool) -> None:
    """Drop titles, close objects, and (strict mode) require every property, in place."""
    node.pop("title", None)
    # Discriminator mappings point at inlined definitions; the tagged anyOf says the same.
    node.pop("discriminator", None)
    if "oneOf" in node and "anyOf" not in node:
        node["anyOf"] = node.pop("oneOf")  # function-calling APIs support anyOf more widely
    properties = node.get("properties")
    if isinstance(properties, dict):
        node.setdefault("additionalProperties", False)
        required = node.get("required", ())
        node["required"] = (
            list(properties) if all_required else [k for k in properties if k in required]
        )
    if all_required and "default" in node and node["default"] is None:
        del node["default"]  # strict mode: optional values are nullable, not defaulted
    for child in _schema_children(node):
        _tidy(child, all_required=all_required)


def clean_schema(schema: Mapping[str, Any], *, all_required: bool = False) -> dict[str, Any]:
    """A pydantic JSON schema made fit for function calling.

    Local references are inlined where they are not recursive (small models read flat
    schemas better), ``title`` noise is dropped, every object gets
    ``additionalProperties: false`` and a ``required`` list, and with ``all_required`` every
    property is required, as OpenAI's strict mode asks.
    """
    defs: dict[str, Any] = dict(schema.get("$defs", {}))
    kept: set[str] = set()
    body = {k: v for k, v in schema.items() if k != "$defs"}
    out: dict[str, Any] = _inline_refs(body, defs, (), kept)
    out.setdefault("type", "object")
    out.setdefault("properties", {})
    if kept:
        # Recursive definitions: inline what they reference, except themselves.
        out["$defs"] = {
            name: _inline_refs(defs[name], defs, (name,), set()) for name in sorted(kept)
        }
    _tidy(out, all_required=all_required)
    for definition in out.get("$defs", {}).values():
        _tidy(definition, all_required=all_required)
    return out


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(arguments)"


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_INPUT_REPR else text[: _MAX_INPUT_REPR - 3] + "..."


def describe_validation_error(
    exc: ValidationError, allowed: tuple[str, ...], *, hidden: frozenset[str] = frozenset()
) -> list[str]:
    """One line per pydantic error, phrased for the model: which field, what is wrong.

    Errors about the ``hidden`` (injected) parameters are left out, and so are their values
    in the inputs shown: the model neither sends nor can fix them.
    """
    problems: list[str] = []
    for error in exc.errors(include_url=False):
        if error["loc"] and error["loc"][0] in hidden:
            continue
        if hidden and isinstance(error.get("input"), Mapping):
            error["input"] = {k: v for k, v in error["input"].items() if k not in hidden}
        where = _location(tuple(error["loc"]))
        kind = error["type"]
        if kind == "missing":
            problems.append(f"{where}: required field is missing")
        elif kind == "extra_forbidden":
            names = ", ".join(allowed) if len(error["loc"]) == 1 else "see the schema"
            problems.append(f"{where}: unknown field (allowed fields: {names or 'none'})")
        else:
            problems.append(f"{where}: {error['msg']} (got {_short_repr(error.get('input'))})")
    return problems
