"""Each package's ``__all__`` is exactly its public surface: sorted, resolvable, complete."""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = [
    "hone",
    "hone.agent",
    "hone.agents",
    "hone.agents.middleware",
    "hone.agents.structured_output",
    "hone.checkpoint",
    "hone.checkpoint.langgraph",
    "hone.errors",
    "hone.graph",
    "hone.graph.callbacks",
    "hone.graph.prebuilt",
    "hone.graph.streaming",
    "hone.graph.ui",
    "hone.interop",
    "hone.mcp",
    "hone.memory",
    "hone.messages",
    "hone.models",
    "hone.models.conformance",
    "hone.observability",
    "hone.parsing",
    "hone.rewards",
    "hone.rlm",
    "hone.rlm.ledger",
    "hone.sandbox",
    "hone.sandbox.conformance",
    "hone.search",
    "hone.serve",
    "hone.serve.contract",
    "hone.server",
    "hone.store",
    "hone.store.conformance",
    "hone.threads",
    "hone.tools",
    "hone.train",
    "hone.trajectory",
    "hone.view",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_the_public_surface(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(exported) == len(set(exported)), f"{name}.__all__ has duplicates"
    for symbol in exported:
        assert hasattr(module, symbol), f"{name}.__all__ names missing {symbol!r}"
        value = getattr(module, symbol)
        if isinstance(value, type | types.FunctionType):
            assert value.__doc__, f"{name}.{symbol} has no docstring"
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", name).startswith("hone")
        and attr not in {"annotations", "TYPE_CHECKING", "Any"}
    }
    leaked = public - set(exported)
    assert not leaked, f"{name} exposes names outside __all__: {sorted(leaked)}"


def test_training_names_are_its_own() -> None:
    """``hone.train`` shares no exported name with another package (its run config was once a
    second ``RunConfig`` next to ``hone.graph``'s)."""
    train = set(importlib.import_module("hone.train").__all__)
    for name in PACKAGES:
        if name not in ("hone", "hone.train"):
            shared = train & set(importlib.import_module(name).__all__)
            assert not shared, f"hone.train and {name} both export {sorted(shared)}"
