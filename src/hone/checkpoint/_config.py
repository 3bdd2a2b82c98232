"""Reading LangGraph-style configs and building the configs and metadata savers return."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from hone.checkpoint._protocol import CheckpointConfig, CheckpointMetadata
from hone.errors import ConfigError

__all__ = ["Target", "checkpoint_metadata", "make_config", "matches", "target"]

#: ``configurable`` keys never copied into metadata (LangGraph's list, same reason: they
#: name the checkpoint or the task, not the run).
_EXCLUDED = frozenset(
    {
        "thread_id",
        "checkpoint_id",
        "checkpoint_ns",
        "checkpoint_map",
        "langgraph_step",
        "langgraph_node",
        "langgraph_triggers",
        "langgraph_path",
        "langgraph_checkpoint_ns",
    }
)


@dataclass(frozen=True, slots=True)
class Target:
    """What a config names: a thread, a namespace and maybe one checkpoint."""

    thread_id: str
    #: None when the config does not name one (``list`` then covers every namespace).
    ns: str | None
    checkpoint_id: str | None


def _configurable(config: Mapping[str, Any], what: str) -> Mapping[str, Any]:
    conf = config.get("configurable") if isinstance(config, Mapping) else None
    if not isinstance(conf, Mapping):
        raise ConfigError(
            f'{what} needs a config like {{"configurable": {{"thread_id": "..."}}}}, got {config!r}'
        )
    return conf


def target(config: Mapping[str, Any], what: str) -> Target:
    """The thread, namespace and checkpoint id a config names.

    Raises:
        ConfigError: the config has no ``configurable`` mapping or no ``thread_id``.
    """
    conf = _configurable(config, what)
    thread_id = conf.get("thread_id")
    if thread_id is None or thread_id == "":
        raise ConfigError(f'{what} needs config["configurable"]["thread_id"]; got {dict(conf)!r}')
    ns = conf.get("checkpoint_ns")
    checkpoint_id = conf.get("checkpoint_id")
    return Target(
        thread_id=str(thread_id),
        ns=None if ns is None else str(ns),
        checkpoint_id=str(checkpoint_id) if checkpoint_id else None,
    )


def make_config(thread_id: str, ns: str, checkpoint_id: str) -> CheckpointConfig:
    """``{"configurable": {"thread_id", "checkpoint_ns", "checkpoint_id"}}``."""
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": ns,
            "checkpoint_id": checkpoint_id,
        }
    }


def _clean(value: Any) -> Any:
    # PostgreSQL text cannot hold NUL; LangGraph strips it from every saver's metadata.
    return value.replace("\u0000", "") if isinstance(value, str) else value


def checkpoint_metadata(
    config: Mapping[str, Any], metadata: Mapping[str, Any]
) -> CheckpointMetadata:
    """The metadata a saver stores: ``metadata`` plus the string, number and boolean values
    of the config's ``metadata`` and ``configurable`` mappings that it does not have already
    (except checkpoint keys and keys starting with ``"__"``), as LangGraph stores it."""
    out: dict[str, Any] = {key: _clean(value) for key, value in metadata.items()}
    for source in (config.get("metadata"), config.get("configurable")):
        if not isinstance(source, Mapping):
            continue
        for key, value in source.items():
            if key in out or key in _EXCLUDED or str(key).startswith("__"):
                continue
            if isinstance(value, str | int | float | bool):
                out[key] = _clean(value)
    return cast(CheckpointMetadata, out)


def matches(metadata: Mapping[str, Any], wanted: Mapping[str, Any] | None) -> bool:
    """Whether metadata has every key of ``wanted`` with an equal value (a missing key
    counts as None, as in LangGraph's savers)."""
    if not wanted:
        return True
    return all(metadata.get(key) == value for key, value in wanted.items())
