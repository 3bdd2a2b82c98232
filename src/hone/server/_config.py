"""The server's settings, and the config file they are read from (``hone.json`` or a
LangGraph ``langgraph.json``).

A config file::

    {
      "graphs": {"agent": "./agent.py:graph", "support": "support.graphs:build"},
      "database": "agents.db",
      "auth": {"api_keys": {"KEY-OF-ALICE": "alice", "KEY-OF-BOB": "bob"}},
      "env": {"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1"},
      "store": {"index": {"dims": 256, "embed": "hashing"}},
      "limits": {"max_body_bytes": 10485760, "max_concurrent_runs": 32}
    }

Graph paths are resolved from the file's folder. A ``langgraph.json`` is read too: its
``graphs``, ``env`` and ``store`` mean the same; keys about building images
(``dependencies``, ``python_version``, ``dockerfile_lines``, ...) are ignored.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hone.errors import ConfigError
from hone.server._backends import is_postgres

__all__ = ["AuthConfig", "ServerConfig", "load_server_config"]

logger = logging.getLogger(__name__)

#: langgraph.json keys about building and deploying images: nothing to do here.
_LANGGRAPH_ONLY = frozenset(
    {
        "$schema",
        "dependencies",
        "python_version",
        "node_version",
        "pip_config_file",
        "pip_installer",
        "dockerfile_lines",
        "image_distro",
        "keep_pkg_tools",
        "checkpointer",
        "ui",
        "ui_config",
        "webhooks",
    }
)
_KEYS = frozenset({"graphs", "database", "auth", "env", "store", "limits", "postgres_schema"})


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """Who may call the server, and as whom.

    A request names its key in the ``x-api-key`` header (what ``langgraph-sdk`` sends) or as
    ``Authorization: Bearer KEY``. Each user sees only the threads and runs they made.

    Attributes:
        api_keys: key → user id.
        authenticate: a function (or its ``module:attr`` path) given the request headers
            (lower-case names) and returning the user id, or None to refuse the request;
            it may be async. Tried when the key is not in ``api_keys``.
    """

    api_keys: Mapping[str, str] = field(default_factory=dict)
    authenticate: str | Callable[[Mapping[str, str]], Any] | None = None

    def __post_init__(self) -> None:
        for key, user in self.api_keys.items():
            if not isinstance(key, str) or not key.strip():
                raise ConfigError("auth.api_keys: every key must be a non-empty string")
            if not isinstance(user, str) or not user.strip():
                raise ConfigError(
                    f"auth.api_keys: the user of a key must be a non-empty string, got {user!r}"
                )

    @property
    def enabled(self) -> bool:
        """Whether requests must authenticate."""
        return bool(self.api_keys) or self.authenticate is not None


@dataclass(frozen=True, kw_only=True, slots=True)
class ServerConfig:
    """Everything ``hone server`` needs.

    Attributes:
        graphs: graph id → the graph: a ``module:attr`` / ``path/file.py:attr`` path or the
            object itself. The object is a compiled graph, a ``StateGraph`` (compiled
            here), or a function returning one (called per run, with the run's config when
            it takes an argument).
        database: a SQLite file (created if missing; ``":memory:"`` for tests) or a
            PostgreSQL URL (``postgresql://...``). It holds checkpoints, the long-term store
            and the server's assistants, threads and runs.
        auth: who may call (None: no authentication, every caller is one user).
        base_dir: where relative graph and database paths are read from (the config
            file's folder; default the current directory).
        env: environment variables set before the graphs are imported.
        store_index: the long-term store's index config (semantic search); None: none.
        store_ttl: the long-term store's TTL config; None: items live until deleted.
        store_scope: ``"user"`` (with auth, a caller may only use store namespaces whose
            first label is their user id) or ``"shared"`` (any namespace).
        postgres_schema: the PostgreSQL schema of every table.
        max_body_bytes: larger request bodies get a 413.
        max_concurrent_runs: runs executing at once (more wait, ``pending``).
        keepalive_s: seconds between keep-alive comments on a quiet stream or wait.
    """

    graphs: Mapping[str, Any]
    database: str = "hone-server.db"
    auth: AuthConfig | None = None
    base_dir: str | os.PathLike[str] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    store_index: Mapping[str, Any] | None = None
    store_ttl: Mapping[str, Any] | None = None
    store_scope: Literal["user", "shared"] = "user"
    postgres_schema: str = "public"
    max_body_bytes: int = 10 * 2**20
    max_concurrent_runs: int = 32
    keepalive_s: float = 10.0

    def __post_init__(self) -> None:
        if not self.graphs:
            raise ConfigError(
                'the server config names no graphs; add {"graphs": {"id": "module:attr"}}'
            )
        for graph_id in self.graphs:
            if not isinstance(graph_id, str) or not graph_id.strip():
                raise ConfigError(f"graph ids must be non-empty strings, got {graph_id!r}")
        if self.max_body_bytes < 1024:
            raise ConfigError(f"max_body_bytes must be at least 1024, got {self.max_body_bytes}")
        if self.max_concurrent_runs < 1:
            raise ConfigError(
                f"max_concurrent_runs must be at least 1, got {self.max_concurrent_runs}"
            )
        if self.store_scope not in ("user", "shared"):
            raise ConfigError(f"store_scope is 'user' or 'shared', got {self.store_scope!r}")
        if self.keepalive_s <= 0:
            raise ConfigError(f"keepalive_s must be positive, got {self.keepalive_s}")

    @property
    def folder(self) -> Path:
        """The folder relative paths are read from."""
        return Path(self.base_dir or Path.cwd()).expanduser().resolve()

    def database_location(self) -> str:
        """The database, a relative SQLite path resolved from :attr:`folder`."""
        if is_postgres(self.database) or self.database in ("", ":memory:"):
            return self.database
        path = Path(self.database).expanduser()
        return str(path if path.is_absolute() else self.folder / path)


def _env(value: Any, folder: Path) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, str):
        path = folder / value
        if not path.is_file():
            raise ConfigError(f"env names {path}, which is not a file")
        out: dict[str, str] = {}
        for line in path.read_text().splitlines():
            text = line.strip()
            if not text or text.startswith("#") or "=" not in text:
                continue
            key, _, val = text.removeprefix("export ").partition("=")
            out[key.strip()] = val.strip().strip("'\"")
        return out
    raise ConfigError(f"env must be an object or a .env file path, got {value!r}")


def _auth(value: Any) -> AuthConfig | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigError(f"auth must be an object, got {value!r}")
    if "path" in value:
        raise ConfigError(
            "auth.path names a LangGraph Auth object, which hone server does not run; use "
            '"auth": {"api_keys": {"KEY": "user"}} or {"authenticate": "module:function"}'
        )
    unknown = set(value) - {"api_keys", "authenticate"}
    if unknown:
        raise ConfigError(f"unknown auth settings {sorted(unknown)}; use api_keys, authenticate")
    keys = value.get("api_keys") or {}
    if not isinstance(keys, Mapping):
        raise ConfigError('auth.api_keys must map each key to its user: {"KEY": "alice"}')
    return AuthConfig(api_keys=dict(keys), authenticate=value.get("authenticate"))


def load_server_config(path: str | os.PathLike[str], **overrides: Any) -> ServerConfig:
    """The :class:`ServerConfig` a ``hone.json`` or ``langgraph.json`` file describes.

    ``overrides`` replace fields of the file's config (``database=...``, ``auth=...``).

    Raises:
        ConfigError: the file is missing or is not valid JSON, or a setting is invalid
            (the message names it).
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"no server config file at {file}")
    try:
        data = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{file} is not valid JSON: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ConfigError(f"{file} must hold a JSON object")
    ignored = sorted(set(data) & _LANGGRAPH_ONLY)
    if ignored:
        logger.info("ignoring langgraph.json settings hone server has no use for: %s", ignored)
    unknown = sorted(set(data) - _LANGGRAPH_ONLY - _KEYS - {"http"})
    if unknown:
        raise ConfigError(f"{file}: unknown settings {unknown}; known: {sorted(_KEYS)}")
    if "http" in data:
        raise ConfigError(f"{file}: custom http apps ('http') are not supported by hone server")
    folder = file.resolve().parent
    graphs = data.get("graphs")
    if not isinstance(graphs, Mapping):
        raise ConfigError(f'{file}: "graphs" must map graph ids to "module:attr" paths')
    store = data.get("store") or {}
    if not isinstance(store, Mapping):
        raise ConfigError(f'{file}: "store" must be an object')
    limits = data.get("limits") or {}
    if not isinstance(limits, Mapping) or set(limits) - {
        "max_body_bytes",
        "max_concurrent_runs",
        "keepalive_s",
    }:
        raise ConfigError(
            f'{file}: "limits" takes max_body_bytes, max_concurrent_runs and keepalive_s'
        )
    fields: dict[str, Any] = {
        "graphs": dict(graphs),
        "database": data.get("database", "hone-server.db"),
        "auth": _auth(data.get("auth")),
        "base_dir": folder,
        "env": _env(data.get("env"), folder),
        "store_index": store.get("index"),
        "store_ttl": store.get("ttl"),
        "store_scope": store.get("scope", "user"),
        "postgres_schema": data.get("postgres_schema", "public"),
        **limits,
    }
    fields.update(overrides)
    return ServerConfig(**fields)
