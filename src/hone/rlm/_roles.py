"""The roles an RLM run records its model calls under, and the model each one calls.

The root model is role ``rlm``; its ``llm_query`` / ``llm_query_batched`` sub-calls are role
``llm_query``. A sub-RLM started with ``rlm_query`` at depth ``d`` records under ``rlm@d``
and ``llm_query@d``. A rollout given one recording model per role
(``roles=rlm_roles(max_depth)``) thus records one episode per role, so the root policy and
the sub-call policy train on their own calls.
"""

from __future__ import annotations

from hone.agent._scope import get_model
from hone.errors import ConfigError
from hone.interop._model import ModelLike, resolve_model
from hone.models._protocol import ModelBackend

__all__ = ["ROOT_ROLE", "SUB_ROLE", "resolve_role_models", "rlm_roles", "role_at"]

#: The root model's role (depth 0).
ROOT_ROLE = "rlm"
#: The role of ``llm_query`` sub-calls (depth 0).
SUB_ROLE = "llm_query"


def role_at(base: str, depth: int) -> str:
    """``base`` at recursion ``depth``: the base name at depth 0, ``base@depth`` below."""
    return base if depth == 0 else f"{base}@{depth}"


def rlm_roles(max_depth: int = 1) -> tuple[str, ...]:
    """Every role an RLM run with ``max_depth`` may record, root first: what a rollout takes
    as ``roles=`` so each role's calls become that role's episode.

    ::

        rlm_roles(1)   # ('rlm', 'llm_query', 'rlm@1', 'llm_query@1')
    """
    if max_depth < 0:
        raise ConfigError(f"max_depth must be >= 0, got {max_depth}")
    return tuple(role_at(base, d) for d in range(max_depth + 1) for base in (ROOT_ROLE, SUB_ROLE))


def resolve_role_models(
    model: ModelLike | None, sub_model: ModelLike | None, max_depth: int
) -> dict[str, ModelBackend]:
    """The model each role calls in this run: the run's (a rollout's recording model for
    that role, through :func:`hone.graph.get_model`), else ``model`` for the root roles and
    ``sub_model`` (or ``model``) for the sub-call roles.

    Raises:
        ConfigError: a role has no model (none was given and the run gives none), or the
            run gives one model per role and leaves a role out.
    """
    built_root = None if model is None else resolve_model(model)
    built_sub = built_root if sub_model is None else resolve_model(sub_model)
    out: dict[str, ModelBackend] = {}
    for role in rlm_roles(max_depth):
        default = built_root if role.partition("@")[0] == ROOT_ROLE else built_sub
        try:
            out[role] = get_model(role, default=default)
        except ConfigError as exc:
            raise ConfigError(
                f"{exc}; an RLM with max_depth={max_depth} calls the roles "
                f"{', '.join(rlm_roles(max_depth))} (a rollout takes "
                f"roles=rlm_roles({max_depth}))"
            ) from exc
    return out
