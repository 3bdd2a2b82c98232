"""Loading a training run: its config file (YAML or TOML, with overrides), the objects its
import paths name, and the tasks of a split.

Errors are :class:`~hone.errors.TrainingConfigError` naming the field and the fix.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hone._imports import import_object
from hone.errors import ConfigError, TrainingConfigError
from hone.train._config import TrainerConfig
from hone.train._run_config import TrainingRunConfig

__all__ = ["load_config", "load_tasks", "resolve_object"]

# Imported by name: typed the same with or without the types-PyYAML stubs installed.
yaml: Any = importlib.import_module("yaml")

_TRAINER_FIELDS = frozenset(f.name for f in dataclasses.fields(TrainerConfig))


def _format_errors(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        where = ".".join(loc) or "config"
        line = f"{where}: {error['msg']}"
        if error["type"] == "extra_forbidden" and loc[-1] in _TRAINER_FIELDS and len(loc) == 2:
            line += f" (a trainer setting: write it under {loc[0]}.trainer)"
        lines.append(line)
    return "; ".join(lines)


def _merge(data: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``overrides`` merged into ``data`` at every depth (a mapping merges into a mapping)."""
    out = dict(data)
    for key, value in overrides.items():
        current = out.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            out[key] = _merge(dict(current), value)
        else:
            out[key] = value
    return out


def load_config(
    source: str | Path | Mapping[str, Any], *, overrides: Mapping[str, Any] | None = None
) -> TrainingRunConfig:
    """Read a :class:`TrainingRunConfig` from a ``.yaml``/``.yml``/``.toml`` file or a mapping.

    ``overrides`` are merged in at every depth (``{"rl": {"trainer": {"lr": 1e-4}}}`` changes
    only the RL learning rate). A file's folder becomes :attr:`TrainingRunConfig.base_dir`; a
    mapping's is the current directory.

    Raises:
        TrainingConfigError: the file is missing or unreadable, or a field is invalid (the
            message names each field).
    """
    if isinstance(source, Mapping):
        data, base = dict(source), Path(".").resolve()
    else:
        data, base = _read_file(Path(source)), Path(source).resolve().parent
    data = _merge(data, overrides or {})
    data.setdefault("base_dir", base)
    try:
        config = TrainingRunConfig.model_validate(data)
    except ValidationError as exc:
        raise TrainingConfigError(
            f"invalid training config: {_format_errors(exc)}. Fix these fields (see "
            "docs/training.md for every field)."
        ) from None
    config.check()
    return config


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise TrainingConfigError(f"no config file at {path}; pass a .yaml or .toml file.")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            raise TrainingConfigError(
                f"{path} is neither .yaml, .yml nor .toml; rename it to say its format."
            )
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise TrainingConfigError(f"cannot parse {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise TrainingConfigError(
            f"{path} must hold a mapping of fields, not {type(data).__name__}."
        )
    return data


def resolve_object(path: str, *, field: str, base_dir: Path | None = None) -> Any:
    """The object an import path (``package.module:attr`` or ``path/to/file.py:attr``) names,
    looked up first in ``base_dir`` (the config's folder).

    Raises:
        TrainingConfigError: the path is malformed, the module cannot be imported or has no
            such attribute; the message names ``field``.
    """
    try:
        return import_object(path, base_dir=base_dir)
    except ConfigError as exc:
        raise TrainingConfigError(f"{field}={path!r}: {exc}") from exc


def load_tasks(
    source: Any,
    split: str,
    seed: int,
    *,
    args: Mapping[str, Any] | None = None,
    field: str = "tasks",
) -> list[Any]:
    """The tasks of ``split`` from a task source (see :class:`TasksConfig`).

    Raises:
        TrainingConfigError: the source has no such split, gives no tasks, or does not take
            the ``args`` given.
    """
    if callable(source) and not isinstance(source, Mapping):
        params = inspect.signature(source).parameters
        kwargs = {k: v for k, v in (("split", split), ("seed", seed)) if k in params}
        kwargs.update(args or {})
        try:
            inspect.signature(source).bind(**kwargs)
        except TypeError as exc:
            raise TrainingConfigError(
                f"{field} cannot be called with {sorted(kwargs)}: {exc}; match tasks.args to the "
                "function's parameters."
            ) from None
        tasks = source(**kwargs)
    elif args:
        raise TrainingConfigError(
            f"{field} is a {type(source).__name__}, which takes no arguments; drop tasks.args or "
            "name a function tasks(split, seed, **args)."
        )
    elif isinstance(source, Mapping):
        if split not in source:
            raise TrainingConfigError(
                f"{field} has no split {split!r} (it has {sorted(source)}); add it or set "
                "tasks.train_split / tasks.eval_split."
            )
        tasks = source[split]
    elif isinstance(source, Sequence) and not isinstance(source, str):
        if split != "train":
            raise TrainingConfigError(
                f"{field} is a plain sequence, which has no {split!r} split; make it a function "
                "tasks(split, seed) or a dict {'train': [...], 'eval': [...]}, or set "
                "rl.eval.every: 0."
            )
        tasks = source
    else:
        raise TrainingConfigError(
            f"{field} names a {type(source).__name__}; name a function tasks(split, seed), a "
            "dict of splits or a list of tasks."
        )
    out = list(tasks)
    if not out:
        raise TrainingConfigError(f"{field} gave no tasks for split {split!r}.")
    return out
