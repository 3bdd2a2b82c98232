"""``ProviderToolSearchMiddleware``: send chosen tools to the model as deferred, behind the
provider's own server-side tool search (LangChain's ``ProviderToolSearchMiddleware``).

A deferred tool is sent marked ``extras["defer_loading"] = True`` and the provider's tool
search tool is added to the request; the provider then loads a deferred tool's full schema
only when the model searches for it, which keeps requests with many tools small. Only
Anthropic and OpenAI chat models (LangChain's) have server-side tool search.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeAlias

from hone.agents.middleware._base import AgentMiddleware
from hone.agents.middleware._types import ModelRequest, ModelResponse
from hone.tools import Tool

__all__ = ["ProviderToolSearchMiddleware", "ToolIdentifier"]

#: A tool to defer: its name, or the tool (hone's or LangChain's).
ToolIdentifier: TypeAlias = str | Any

#: Each supported provider's tool search tool, as the request sends it. The type names
#: carry the providers' version dates; check them against the providers' docs.
_SEARCH_TOOLS: dict[str, dict[str, str]] = {
    "anthropic": {"type": "tool_search_tool_bm25_20251119", "name": "tool_search_tool_bm25"},
    "openai": {"type": "tool_search"},
}

#: Providers known by how their model names start (names with no ``provider:`` prefix).
_NAME_PREFIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("gpt-", "o1", "o3", "chatgpt", "text-davinci"), "openai"),
    (("claude",), "anthropic"),
    (("command",), "cohere"),
    (("accounts/fireworks",), "fireworks"),
    (("gemini",), "google_vertexai"),
    (("amazon.", "anthropic.", "meta."), "bedrock"),
    (("mistral", "mixtral"), "mistralai"),
    (("deepseek",), "deepseek"),
    (("grok",), "xai"),
    (("sonar",), "perplexity"),
    (("solar",), "upstage"),
)

_CLASS_PROVIDERS = {
    "ChatAnthropic": "anthropic",
    "AnthropicChat": "anthropic",
    "ChatOpenAI": "openai",
    "OpenAIChat": "openai",
}


def _normalized(provider: str) -> str:
    """A provider id as the table keys it: lower case, ``-`` as ``_``."""
    return provider.replace("-", "_").lower()


def _name_of(tool: Any) -> str:
    """A tool identifier's name.

    Raises:
        TypeError: an identifier that is neither a name nor a named tool.
    """
    name = tool if isinstance(tool, str) else getattr(tool, "name", None)
    if not isinstance(name, str):
        raise TypeError(
            f"searchable_tools takes tool names or tools with a name, got {type(tool).__name__}"
        )
    return name


def _extras(tool: Any) -> dict[str, Any]:
    extras = getattr(tool, "extras", None)
    return dict(extras) if isinstance(extras, Mapping) else {}


def _is_deferred(tool: Any, names: frozenset[str]) -> bool:
    """Whether ``tool`` is sent deferred: named in ``searchable_tools``, or already marked
    ``defer_loading``. Dict tools (the provider's own) never are."""
    if isinstance(tool, Mapping) or not isinstance(getattr(tool, "name", None), str):
        return False
    return _extras(tool).get("defer_loading") is True or tool.name in names


def _langchain_tool(tool: Tool) -> Any:
    """A hone tool as a LangChain tool of the same name, description and arguments (sent to
    the model only; the agent's tool node still runs the hone tool)."""
    from langchain_core.tools import StructuredTool

    return StructuredTool(
        name=tool.name,
        description=tool.description,
        args_schema=dict(tool.parameters),
        func=tool.fn,
    )


def _deferred(tool: Any, names: frozenset[str]) -> Any:
    """``tool`` marked ``defer_loading`` when it is deferred, else as it is."""
    if not _is_deferred(tool, names):
        return tool
    if isinstance(tool, Tool):
        tool = _langchain_tool(tool)
    return tool.model_copy(update={"extras": {**_extras(tool), "defer_loading": True}})


def _provider_of_name(model_name: str) -> str | None:
    """The provider of a model name: its ``provider:`` prefix, else its usual prefix."""
    provider, _, rest = model_name.partition(":")
    if rest:
        return _normalized(provider)
    lowered = model_name.lower()
    for prefixes, known in _NAME_PREFIXES:
        if lowered.startswith(prefixes):
            return known
    return None


def _provider_of_params(params: Mapping[str, Any]) -> str | None:
    """The provider named by model parameters: ``model_provider``, else the ``model``."""
    provider = params.get("model_provider")
    if isinstance(provider, str):
        return _normalized(provider)
    model_name = params.get("model")
    return _provider_of_name(model_name) if isinstance(model_name, str) else None


def _provider(model: Any, runtime: Any) -> str | None:
    """The model's provider, or None when nothing tells. Looked for in a configurable
    model's parameters for this run (its defaults overlaid with the run's ``configurable``),
    then its defaults, then LangChain's ``ls_provider``, then the model's class name."""
    defaults = getattr(model, "_default_config", None)
    params_for = getattr(model, "_model_params", None)
    if callable(params_for):
        config = getattr(runtime, "config", None)
        params = params_for(config if isinstance(config, Mapping) else None)
        if isinstance(params, Mapping):
            merged = {**defaults, **params} if isinstance(defaults, Mapping) else params
            found = _provider_of_params(merged)
            if found:
                return found
    if isinstance(defaults, Mapping):
        found = _provider_of_params(defaults)
        if found:
            return found
    ls_params = getattr(model, "_get_ls_params", None)
    if callable(ls_params):
        reported = ls_params()
        if isinstance(reported, Mapping) and isinstance(reported.get("ls_provider"), str):
            return _normalized(reported["ls_provider"])
    return _CLASS_PROVIDERS.get(type(model).__name__)


class ProviderToolSearchMiddleware(AgentMiddleware[Any, Any, Any]):
    """Defer the chosen tools behind the provider's server-side tool search.

    A tool is deferred when it is named (or given) in ``searchable_tools``, or when it
    already has ``extras["defer_loading"] = True``. When some tool is deferred, the request
    gets the deferred tools marked and the provider's tool search tool added; when none
    is, the request is sent unchanged, whatever the provider.

    Args:
        searchable_tools: the tools to defer: names, or tools (hone's or LangChain's).

    Raises:
        TypeError: an entry of ``searchable_tools`` that is neither a name nor a named tool.
    """

    def __init__(self, *, searchable_tools: Sequence[ToolIdentifier] | None = None) -> None:
        super().__init__()
        self.searchable_tool_names = {_name_of(t) for t in searchable_tools or ()}

    def _prepared(self, request: ModelRequest[Any]) -> ModelRequest[Any]:
        """``request`` with its deferred tools marked and the search tool added (``request``
        itself when no tool is deferred).

        Raises:
            ValueError: a ``searchable_tools`` name the model is not given, or a deferred
                tool with a model whose provider is unknown or has no tool search.
        """
        names = frozenset(self.searchable_tool_names)
        tools = list(request.tools)
        if names:
            given = {t.name for t in tools if _is_named_tool(t)}
            unknown = sorted(names - given)
            if unknown:
                raise ValueError(
                    "ProviderToolSearchMiddleware: searchable_tools references "
                    f"tool(s) not bound to the model: {', '.join(unknown)}"
                )
        if not any(_is_deferred(t, names) for t in tools):
            return request
        supported = ", ".join(sorted(_SEARCH_TOOLS))
        provider = _provider(request.model, request.runtime)
        if provider is None:
            raise ValueError(
                "ProviderToolSearchMiddleware could not determine the provider for model "
                f"{type(request.model).__name__!r}; server-side tool search supports: "
                f"{supported}"
            )
        if provider not in _SEARCH_TOOLS:
            raise ValueError(
                "ProviderToolSearchMiddleware requires a provider with server-side tool "
                f"search, but got {provider!r}; supported providers: {supported}"
            )
        marked = [_deferred(t, names) for t in tools]
        return request.override(tools=[*marked, dict(_SEARCH_TOOLS[provider])])

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> Any:
        """The model call with the tools deferred (see :meth:`_prepared`).

        Raises:
            ValueError: see :meth:`_prepared`.
        """
        return handler(self._prepared(request))

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> Any:
        """Async :meth:`wrap_model_call`."""
        return await handler(self._prepared(request))


def _is_named_tool(tool: Any) -> bool:
    return not isinstance(tool, Mapping) and isinstance(getattr(tool, "name", None), str)
