"""Run configs: one config dict from the several a call is given (the graph's own, the
call's, the running node's), merged as LangGraph merges them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ensure_config"]

#: configurable keys copied into ``metadata`` (LangGraph's allowlist).
_TO_METADATA = (
    "thread_id",
    "checkpoint_id",
    "checkpoint_ns",
    "task_id",
    "run_id",
    "assistant_id",
    "graph_id",
)
#: Keys that make a config address its own checkpoint lineage.
_COORDINATES = ("thread_id", "checkpoint_ns", "checkpoint_id", "checkpoint_map")
_CONFIG_KEYS = (
    "tags",
    "metadata",
    "callbacks",
    "run_name",
    "max_concurrency",
    "recursion_limit",
    "configurable",
    "run_id",
)


def ensure_config(
    *configs: Mapping[str, Any] | None, ambient: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One config dict from several (later ones win; ``configurable`` and ``metadata``
    merge; tags concatenate), on top of the running node's config (``ambient``), with
    LangGraph's defaults. A config that names another thread or checkpoint than the node's
    does not inherit the node's ``configurable``. Tags the node's config already has are not added again (a
    subgraph gets its parent's config both as the ambient one and explicitly)."""
    out: dict[str, Any] = {
        "tags": [],
        "metadata": {},
        "callbacks": None,
        "recursion_limit": 25,
        "configurable": {},
    }
    inherited: frozenset[Any] = frozenset()
    if ambient:
        inherited = frozenset(ambient.get("tags") or ())
        for key, value in ambient.items():
            if value not in (None, {}, [], ()):
                out[key] = (
                    dict(value)
                    if isinstance(value, dict)
                    else (list(value) if isinstance(value, list) else value)
                )
        own = ambient.get("configurable") or {}
        for config in configs:
            explicit = (config or {}).get("configurable") if config else None
            # The node's own coordinates passed back (a tool handing its config to a graph
            # it calls) still make a subgraph; other coordinates make a run of its own.
            if explicit and any(
                explicit.get(k) not in (None, "", {}) and explicit.get(k) != own.get(k)
                for k in _COORDINATES
            ):
                out["configurable"] = {}
                break
    for config in configs:
        if not config:
            continue
        items = config.to_dict().items() if hasattr(config, "to_dict") else config.items()
        for key, value in items:
            if value is None or (
                isinstance(value, dict | list) and not value and key != "configurable"
            ):
                continue
            if key == "configurable" or key == "metadata":
                out[key] = {**out[key], **value}
            elif key == "tags":
                out[key] = [*out["tags"], *(t for t in value if t not in inherited)]
            elif key == "callbacks":
                out[key] = _merge_callbacks(out["callbacks"], value)
            elif key in _CONFIG_KEYS:
                out[key] = value
            else:
                out["configurable"][key] = value
    configurable = out["configurable"]
    metadata = out["metadata"]
    for key in _TO_METADATA:
        if key not in metadata and configurable.get(key):
            metadata[key] = configurable[key]
    return out


def _merge_callbacks(base: Any, new: Any) -> Any:
    """LangChain callbacks of two configs, both kept (LangGraph's merge): two handler lists
    concatenate; a list joins a callback manager's copy as inheritable handlers; two
    managers merge."""
    if base is None or new is base:
        return new
    if isinstance(base, list) and isinstance(new, list):
        return [*base, *new]
    if isinstance(new, list) or isinstance(base, list):
        manager, handlers = (base, new) if isinstance(new, list) else (new, base)
        merged = manager.copy()
        for handler in handlers:
            merged.add_handler(handler, inherit=True)
        return merged
    return base.merge(new)
