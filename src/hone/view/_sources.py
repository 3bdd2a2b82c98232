"""What a page shows (:class:`ViewerData`), built from objects (:func:`build_view`) or read
from files and folders (:func:`load_view`)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hone._sqlite import read_only_uri
from hone.checkpoint import Checkpointer
from hone.errors import ConfigError
from hone.graph import CompiledGraph, GraphStructure
from hone.graph._structure import structure
from hone.trajectory import Episode, read_episodes
from hone.view._curves import TrainingRunView, read_metrics, training_run_view
from hone.view._episodes import EpisodeView, GroupView, episode_views, group_views
from hone.view._graph_svg import graph_svg
from hone.view._threads import ThreadView, thread_views
from hone.view._tokens import Decoder, load_decoder
from hone.view._training import TRAIN_MISSING, train_available

__all__ = ["ViewerData", "build_view", "find_tokenizer", "load_view"]

_SQLITE = (".db", ".sqlite", ".sqlite3")


@dataclass(frozen=True, slots=True)
class ViewerData:
    """Everything one page shows; plain data, embedded in the page as JSON."""

    title: str
    episodes: list[EpisodeView] = field(default_factory=list)
    groups: list[GroupView] = field(default_factory=list)
    threads: list[ThreadView] = field(default_factory=list)
    graph_name: str | None = None
    graph_svg: str | None = None
    runs: list[TrainingRunView] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    generated_at: float = field(default_factory=time.time)


def build_view(
    *,
    title: str = "hone viewer",
    episodes: Sequence[Episode] = (),
    checkpointer: Checkpointer | None = None,
    graph: CompiledGraph | GraphStructure | None = None,
    metrics: Mapping[str, Sequence[Mapping[str, float]]] | None = None,
    decode: Decoder | None = None,
    decoders: Mapping[str, Decoder] | None = None,
    notes: Sequence[str] = (),
) -> ViewerData:
    """A page's data from objects in memory.

    Args:
        episodes: episodes to show (their groups and advantages are computed over them all).
        checkpointer: threads to show, each with its checkpoint history.
        graph: the graph to draw; a compiled graph also tells each checkpoint's next nodes.
        metrics: training runs' metric rows (``metrics.jsonl``), by run name.
        decode: token id → text (see :func:`load_decoder`); ids are shown without one.
        decoders: decoders by episode id, for episodes sampled from other tokenizers.
    """
    all_notes = list(notes)
    if episodes and not train_available():
        all_notes.append(f"advantages and loss masks {TRAIN_MISSING}")
    views = episode_views(episodes, decode=decode, decoders=decoders)
    compiled = graph if isinstance(graph, CompiledGraph) else None
    drawn = structure(graph) if isinstance(graph, CompiledGraph) else graph
    threads = thread_views(checkpointer, graph=compiled) if checkpointer is not None else []
    return ViewerData(
        title=title,
        episodes=views,
        groups=group_views(views),
        threads=threads,
        graph_name=drawn.name if drawn is not None else None,
        graph_svg=graph_svg(drawn) if drawn is not None else None,
        runs=[training_run_view(name, rows) for name, rows in (metrics or {}).items()],
        notes=all_notes,
    )


def _tables(path: Path) -> set[str]:
    try:
        with sqlite3.connect(read_only_uri(path), uri=True) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"{path} is not a readable SQLite file: {exc}") from exc
    return {str(row[0]) for row in rows}


def _jsonl_kind(path: Path) -> str:
    """``"episodes"`` or ``"metrics"``, from the file's first non-empty line."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                try:
                    first = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"{path}, line 1: not JSON ({exc})") from exc
                if isinstance(first, dict) and "task_id" in first:
                    return "episodes"
                return "metrics"
    return "episodes"


def find_tokenizer(folder: Path) -> Path | None:
    """The tokenizer of a ``hone train`` output folder: its final, best, newest checkpoint's
    or SFT model's ``tokenizer.json`` folder, the first that exists."""
    checkpoints = sorted(
        folder.glob("checkpoints/step-*/model"), key=lambda p: int(p.parent.name[5:] or 0)
    )
    candidates = [folder / "model", folder / "best", *reversed(checkpoints), folder / "sft/model"]
    return next((c for c in candidates if (c / "tokenizer.json").is_file()), None)


@dataclass(slots=True)
class _Loaded:
    episodes: list[Episode] = field(default_factory=list)
    metrics: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    checkpoint_files: list[Path] = field(default_factory=list)
    #: The tokenizer folder of episodes read from a run folder, by episode id.
    tokenizers: dict[str, Path] = field(default_factory=dict)

    def add_metrics(self, name: str, path: Path) -> None:
        """Read a metrics file under ``name`` (its path added when the name is taken)."""
        self.metrics[name if name not in self.metrics else f"{name} ({path})"] = read_metrics(path)


def _read_file(path: Path, loaded: _Loaded) -> None:
    if path.suffix in _SQLITE:
        tables = _tables(path)
        if "episodes" in tables:
            loaded.episodes += read_episodes(path)
        elif "hone_checkpoints" in tables:
            loaded.checkpoint_files.append(path)
        else:
            raise ConfigError(
                f"{path} holds neither hone episodes nor checkpoints (tables: "
                f"{', '.join(sorted(tables)) or 'none'})"
            )
    elif path.suffix == ".jsonl" and _jsonl_kind(path) == "metrics":
        name = path.parent.name if path.name == "metrics.jsonl" else path.stem
        loaded.add_metrics(name, path)
    elif path.suffix in (".jsonl", ".parquet"):
        loaded.episodes += read_episodes(path)
    else:
        raise ConfigError(
            f"{path.name}: hone view reads trajectory files (.jsonl, .parquet, a .db store), "
            "checkpoint databases (.db, .sqlite), metrics.jsonl and `hone train` output folders"
        )


def _read_folder(folder: Path, loaded: _Loaded) -> None:
    found = False
    for metrics, name in (
        (folder / "metrics.jsonl", folder.name),
        (folder / "sft/metrics.jsonl", f"{folder.name} (sft)"),
    ):
        if metrics.is_file():
            loaded.add_metrics(name, metrics)
            found = True
    store = folder / "trajectories.db"
    if store.is_file():
        before = len(loaded.episodes)
        _read_file(store, loaded)
        tokenizer = find_tokenizer(folder)
        if tokenizer is not None:
            loaded.tokenizers.update((e.id, tokenizer) for e in loaded.episodes[before:])
        found = True
    if not found:
        raise ConfigError(
            f"{folder} is not a `hone train` output folder (no metrics.jsonl or trajectories.db)"
        )


def _tokenizer_of(episode: Episode) -> Path | None:
    """The folder a call's model name points to, when it holds a tokenizer (local models are
    named by their folder)."""
    names = sorted({call.model for call in episode.calls})
    return next((Path(n) for n in names if (Path(n) / "tokenizer.json").is_file()), None)


def _decoders(loaded: _Loaded, tokenizer: Path | None) -> tuple[Decoder | None, dict[str, Decoder]]:
    """The decoder for every episode: ``tokenizer`` when given, else its run folder's, else
    its model's folder; one decoder per folder."""
    if tokenizer is not None:
        return load_decoder(tokenizer), {}
    cache: dict[Path, Decoder] = {}
    chosen: dict[str, Decoder] = {}
    for episode in loaded.episodes:
        folder = loaded.tokenizers.get(episode.id) or _tokenizer_of(episode)
        if folder is not None:
            if folder not in cache:
                cache[folder] = load_decoder(folder)
            chosen[episode.id] = cache[folder]
    return None, chosen


def _read_paths(paths: Sequence[str | Path]) -> _Loaded:
    loaded = _Loaded()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            _read_folder(path, loaded)
        elif path.is_file():
            _read_file(path, loaded)
        else:
            raise ConfigError(f"no file or folder at {path}")
    return loaded


def _last(episodes: Sequence[Episode], limit: int) -> list[Episode]:
    """The last ``limit`` episodes and the other members of their groups, in order."""
    keys = {(e.group_id or e.task_id, e.role) for e in episodes[-limit:]}
    return [e for e in episodes if (e.group_id or e.task_id, e.role) in keys]


def load_view(
    paths: Sequence[str | Path],
    *,
    graph: CompiledGraph | GraphStructure | None = None,
    tokenizer: str | Path | None = None,
    title: str | None = None,
    limit: int | None = None,
) -> ViewerData:
    """A page's data read from files and folders: trajectory files (``.jsonl``, ``.parquet``,
    a :class:`~hone.trajectory.TrajectoryStore` ``.db``), checkpoint databases (a
    :class:`~hone.checkpoint.SqliteSaver` file), ``metrics.jsonl`` files and ``hone train``
    output folders (curves, episodes and the model's tokenizer).

    Args:
        graph: the graph that wrote the checkpoints (drawn, and used for next nodes).
        tokenizer: a folder with ``tokenizer.json`` for token text; by default the run
            folder's model, or the folder a call's model name points to.
        limit: show only the last ``limit`` episodes read, with the rest of their groups (so
            advantages stay those of whole groups; a page holds every token it shows).

    Raises:
        ConfigError: a path is missing or not a kind hone view reads, or ``limit`` < 1.
        TrajectoryVersionError: a trajectory file was written by a newer hone.
    """
    if not paths:
        raise ConfigError("nothing to show: pass trajectory files, checkpoint files or run folders")
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be at least 1, got {limit}")
    loaded = _read_paths(paths)
    if limit is not None and len(loaded.episodes) > limit:
        loaded.episodes = _last(loaded.episodes, limit)
    decode, decoders = _decoders(loaded, Path(tokenizer) if tokenizer is not None else None)
    notes = []
    if decode is None and any(
        c.token_ids for e in loaded.episodes if e.id not in decoders for c in e.calls
    ):
        notes.append(
            "some tokens are shown as ids (⟨id⟩): pass their tokenizer's folder with --tokenizer"
        )
    if len(loaded.checkpoint_files) > 1:
        raise ConfigError("hone view shows one checkpoint database at a time")
    data_title = title or ", ".join(Path(p).name for p in paths)
    if not loaded.checkpoint_files:
        return build_view(
            title=data_title, episodes=loaded.episodes, graph=graph,
            metrics=loaded.metrics, decode=decode, decoders=decoders, notes=notes,
        )  # fmt: skip
    from hone.checkpoint import Serializer, SqliteSaver

    # An encrypted database opens with the key in HONE_AES_KEY, as hone server's does.
    with SqliteSaver.from_conn_string(
        str(loaded.checkpoint_files[0]), read_only=True, serde=Serializer.from_env()
    ) as saver:
        return build_view(
            title=data_title, episodes=loaded.episodes, checkpointer=saver, graph=graph,
            metrics=loaded.metrics, decode=decode, decoders=decoders, notes=notes,
        )  # fmt: skip
