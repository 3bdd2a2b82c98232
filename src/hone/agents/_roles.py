"""The models of a pattern's roles, and what every pattern node shares.

A pattern is built with one model for all its roles, a mapping of role to model, or None
(the run gives them: :func:`~hone.graph.use_model`). Each node asks the run for its role's
model first (``get_model(role, default=<built>)``), so a rollout that gives one recording
policy per role records every call under its role without rebuilding the graph. Nodes carry
their roles in their metadata (``{"roles": [...]}``), which :func:`roles_of` reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias

from hone.agent._scope import get_model
from hone.errors import ConfigError
from hone.graph._compiled import CompiledGraph
from hone.graph._structure import structure
from hone.interop._model import ModelLike, resolve_model
from hone.messages import AnyMessage, SystemMessage, UserMessage
from hone.models._protocol import ModelBackend

__all__ = [
    "Models",
    "RoleModels",
    "numbered",
    "require_input",
    "role_metadata",
    "roles_of",
    "text_request",
]

#: What a pattern takes as its models: one for every role, a mapping of role to model (None
#: for a role the run gives), or None (the run gives every role's).
Models: TypeAlias = "ModelLike | Mapping[str, ModelLike | None] | None"


class RoleModels:
    """The model each role of a pattern was built with (None: the run must give it).

    Args:
        model: see :data:`Models`.
        roles: the pattern's roles.
        pattern: the pattern's name, for error messages.

    Raises:
        ConfigError: a mapping with a role the pattern does not have, or without one it has;
            a value that is not a model.
    """

    def __init__(self, model: Models, roles: Sequence[str], *, pattern: str) -> None:
        self.roles = tuple(roles)
        self._built: dict[str, ModelBackend | None]
        if model is None:
            self._built = dict.fromkeys(self.roles)
        elif isinstance(model, Mapping):
            unknown = sorted(set(model) - set(self.roles))
            missing = [r for r in self.roles if r not in model]
            if unknown or missing:
                raise ConfigError(
                    f"{pattern}: the models mapping must name exactly its roles "
                    f"({', '.join(self.roles)}); "
                    + (f"unknown: {', '.join(map(str, unknown))}; " if unknown else "")
                    + (f"missing: {', '.join(missing)}; " if missing else "")
                    + "give None for a role whose model the run provides"
                )
            self._built = _resolve_each({r: model[r] for r in self.roles})
        else:
            built = resolve_model(model)
            self._built = dict.fromkeys(self.roles, built)

    def get(self, role: str) -> ModelBackend:
        """The model ``role`` calls in this run: the run's (a rollout's recording policy),
        else the one the pattern was built with.

        Raises:
            ConfigError: neither exists.
        """
        return get_model(role, default=self._built[role])

    def built(self, role: str) -> ModelBackend | None:
        """The model ``role`` was built with (None: the run gives it)."""
        return self._built[role]


def _resolve_each(models: Mapping[str, ModelLike | None]) -> dict[str, ModelBackend | None]:
    """Each role's model, resolving a value given for several roles once (a spec string
    such as ``"tiny:"`` names one model, not one per role)."""
    done: dict[Any, ModelBackend] = {}
    out: dict[str, ModelBackend | None] = {}
    for role, value in models.items():
        if value is None:
            out[role] = None
            continue
        key = value if isinstance(value, str) else id(value)
        if key not in done:
            done[key] = resolve_model(value)
        out[role] = done[key]
    return out


def role_metadata(*roles: str) -> dict[str, Any]:
    """A node's metadata naming the roles whose models it calls."""
    return {"roles": list(roles)}


def roles_of(graph: CompiledGraph) -> tuple[str, ...]:
    """The roles whose models a pattern's graph calls, in the order its nodes were added:
    what a rollout takes as ``roles=`` so each role's calls become that role's episode.

    ::

        episodes = await rollout(program, task, policy, roles=roles_of(graph))
    """
    found: dict[str, None] = {}
    for node in structure(graph).nodes:
        for role in node.metadata.get("roles", ()):
            found[str(role)] = None
    return tuple(found)


def require_input(state: Mapping[str, Any], pattern: str) -> str:
    """The run's ``input`` text.

    Raises:
        ConfigError: the state has no non-empty ``input`` string.
    """
    value = state.get("input")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"{pattern} is invoked with {{'input': '<the task, as text>'}}; got "
            f"{'no input' if value is None else repr(value)}"
        )
    return value


def numbered(items: Iterable[str], *, start: int = 1) -> str:
    """``items`` as a numbered list, one per line ("(none)" when empty)."""
    lines = [f"{i}. {item}" for i, item in enumerate(items, start)]
    return "\n".join(lines) if lines else "(none)"


def text_request(system: str, user: str) -> list[AnyMessage]:
    """A two-message conversation: a system prompt and a user message."""
    return [SystemMessage(content=system), UserMessage(content=user)]
