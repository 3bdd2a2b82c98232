"""Recorded episodes as the RL loop's source: RL on a gateway's scored sessions, or on any
trajectory file, instead of fresh rollouts (``rl.trajectories``).

What :func:`load_recorded` keeps, and what each step of :func:`~hone.train.train_rl` does::

    episodes = the file's episodes of trained roles, scored and ended ok    (others: counted)
    groups   = by (group_id or task_id, role pool), as build_rl_batch groups  (a task's sessions)
    stale    = episodes more than max_staleness versions behind policy_version (counted)
    kept     = groups whose fresh rewards differ: the others carry no signal (counted)
    step k   = tasks_per_step kept groups, a seeded permutation per pass (tasks_for_step)
    samples  = build_rl_batch(their episodes)   # recorded logprobs: the importance ratio

A stale episode stays in its group, so each step's ``build_rl_batch`` drops and counts it
(``stale_episodes``) exactly as in the rollout loop. Staleness is judged against the policy
the run starts from, once: the importance ratio against the recorded logprobs corrects the
drift of the run's own updates, as it does for several passes over any batch.

A problem with the file is a :class:`~hone.errors.TrainingConfigError` raised before any
model loads: no file, a SQLite file that is not a trajectory store (read only, so it is left
as it was), episodes without token ids, every episode stale, no group with a signal.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from hone.errors import CapabilityError, ConfigError, TrainingConfigError, TrajectoryError
from hone.train._advantages import zero_variance_mask
from hone.train._health import RunWarning
from hone.train._run_config import RLConfig
from hone.trajectory import Episode, read_episodes, require_token_ids

__all__ = ["RecordedCounts", "RecordedEpisodes", "check_source", "load_recorded"]

logger = logging.getLogger(__name__)

#: File suffixes read as a SQLite trajectory store (``hone.trajectory.read_episodes``'s).
#: How many episode ids an error lists.
_SHOWN = 5


@dataclass(frozen=True, slots=True)
class RecordedCounts:
    """What :func:`load_recorded` found in a file, and what it left out.

    Attributes:
        read: episodes in the file.
        other_roles: episodes of roles ``roles.train`` leaves out.
        unscored: episodes without a finite reward, or that did not end ``ok`` (left out).
        stale: episodes more than ``max_staleness`` versions behind ``policy_version`` (kept
            in their group; each step drops them and counts them as ``stale_episodes``).
        groups: groups of scored episodes (a task's sessions; per role pool).
        single_groups: groups with fewer than two fresh episodes (one session, or the others
            stale): nothing to compare them with.
        flat_groups: groups of several fresh episodes whose rewards are all equal.
        trained_groups: groups with a learning signal, the ones steps draw from.
        trained_episodes: fresh episodes in those groups.
        policy_version: the version staleness counts back from (None: none known).
    """

    read: int
    other_roles: int
    unscored: int
    stale: int
    groups: int
    single_groups: int
    flat_groups: int
    trained_groups: int
    trained_episodes: int
    policy_version: int | None

    def to_dict(self) -> dict[str, Any]:
        """The counts as JSON data (``recorded.json`` in a run's folder)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RecordedEpisodes:
    """Recorded episodes, grouped for RL: what :func:`~hone.train.train_rl` trains on in
    place of rollouts. Build it with :func:`load_recorded`.

    Attributes:
        path: the file they were read from.
        groups: the groups with a learning signal, each a task's scored episodes (stale ones
            included: each step drops and counts them).
        counts: what the file held and what was left out.
        max_staleness: the bound the groups were formed with (the RL config's).
    """

    path: Path
    groups: tuple[tuple[Episode, ...], ...]
    counts: RecordedCounts
    max_staleness: int | None = None

    def signal_warning(self, min_signal: float) -> RunWarning | None:
        """A ``no_signal`` warning when fewer than ``min_signal`` of the groups have one."""
        counts = self.counts
        if counts.trained_groups >= min_signal * counts.groups:
            return None
        return RunWarning(
            "no_signal",
            f"only {counts.trained_groups} of {counts.groups} recorded groups had a learning "
            f"signal ({counts.single_groups} had under two fresh sessions, "
            f"{counts.flat_groups} equal rewards throughout); RL trained on those alone. Record more sessions per task, "
            "name the task in each reward (task_id) so they group, or score with partial "
            "credit.",
        )


def _lag(episode: Episode, current: int | None) -> int:
    """Versions the oldest call of ``episode`` is behind ``current`` (as build_rl_batch)."""
    if current is None:
        return 0
    return max((current - v for v in _int_versions(episode)), default=0)


def _int_versions(episode: Episode) -> list[int]:
    versions = (call.policy_version for call in episode.calls)
    return [v for v in versions if isinstance(v, int) and not isinstance(v, bool)]


def _read(path: Path, field: str) -> list[Episode]:
    if not path.is_file():
        raise TrainingConfigError(
            f"{field}: no file at {path}; point it at a gateway's database (`hone gateway "
            "--db`) or a trajectory file (`hone traj export`)."
        )
    try:
        return read_episodes(path)
    except (ConfigError, TrajectoryError) as exc:
        raise TrainingConfigError(f"{field}: {exc}") from exc


def _check_token_ids(episodes: Sequence[Episode], field: str, path: Path) -> None:
    missing: list[str] = []
    first = ""
    for episode in episodes:
        try:
            require_token_ids(episode.calls, where=f"episode {episode.id}")
        except CapabilityError as exc:
            first = first or str(exc).split(". ")[0]
            missing.append(episode.id)
    if not missing:
        return
    shown = ", ".join(missing[:_SHOWN]) + (", ..." if len(missing) > _SHOWN else "")
    raise TrainingConfigError(
        f"{field}: {len(missing)} of {len(episodes)} scored episodes in {path} lack the token "
        f"ids or logprobs RL needs ({shown}; the first: {first}). Record them with ids "
        "(`hone gateway --token-ids auto` on a local model or vLLM >= 0.10.2), or train on them "
        "with sft.trajectories, which re-renders conversations."
    )


def _newest_version(episodes: Sequence[Episode]) -> int | None:
    versions = [v for e in episodes for v in _int_versions(e)]
    return max(versions) if versions else None


def _has_signal(rewards: Sequence[float]) -> bool:
    if len(rewards) < 2:
        return False
    flat = zero_variance_mask(torch.tensor(rewards, dtype=torch.float64), [0] * len(rewards))
    return not bool(flat[0])


def _with_signal(
    groups: Iterable[list[Episode]], stale: Callable[[Episode], bool]
) -> tuple[list[tuple[Episode, ...]], int, int]:
    """The groups whose fresh rewards differ, and how many others had fewer than two fresh
    episodes or equal rewards."""
    kept: list[tuple[Episode, ...]] = []
    single = flat = 0
    for group in groups:
        rewards = [float(e.reward or 0.0) for e in group if not stale(e)]
        if _has_signal(rewards):
            kept.append(tuple(group))
        elif len(rewards) < 2:
            single += 1
        else:
            flat += 1
    return kept, single, flat


def load_recorded(path: str | Path, *, config: RLConfig) -> RecordedEpisodes:
    """Read a trajectory file (a gateway's database, a run's ``trajectories.db``, ``.jsonl``,
    ``.parquet``) and group its episodes for RL as ``config`` says (``roles``,
    ``max_staleness``, ``policy_version``); a SQLite file is only read.

    Raises:
        TrainingConfigError: no such file; a file that holds no episodes (a SQLite file
            without an ``episodes`` table, another format); scored episodes without token
            ids or logprobs (how many, which); every episode stale; no group with a learning
            signal (why).
    """
    field, file = "rl.trajectories", Path(path)
    episodes = _read(file, field)
    roles = config.roles
    trained = [e for e in episodes if roles.trained(e.role)]
    scored = [
        e for e in trained if e.status == "ok" and e.reward is not None and math.isfinite(e.reward)
    ]
    if not scored:
        raise TrainingConfigError(
            f"{field}: {file} holds no scored episode to train on ({len(episodes)} episodes, "
            f"{len(trained)} of trained roles). Score the gateway's sessions first "
            "(POST /sessions/<id>/reward)."
        )
    _check_token_ids(scored, field, file)
    current = config.policy_version
    if current is None:
        current = _newest_version(scored)
    bound = config.max_staleness

    def stale(episode: Episode) -> bool:
        return bound is not None and _lag(episode, current) > bound

    groups: dict[tuple[str, str], list[Episode]] = {}
    for episode in scored:  # as build_rl_batch groups
        key = (episode.group_id or episode.task_id, roles.pool(episode.role))
        groups.setdefault(key, []).append(episode)
    n_stale = sum(stale(e) for e in scored)
    if n_stale == len(scored):
        versions = sorted({v for e in scored for v in _int_versions(e)})
        raise TrainingConfigError(
            f"{field}: all {len(scored)} scored episodes in {file} are stale: recorded by "
            f"policy versions {versions[0]}..{versions[-1]}, more than rl.max_staleness="
            f"{bound} behind version {current}. Raise rl.max_staleness, set "
            "rl.policy_version to the version that served them, or record newer traffic."
        )
    kept, single, flat = _with_signal(groups.values(), stale)
    counts = RecordedCounts(
        read=len(episodes),
        other_roles=len(episodes) - len(trained),
        unscored=len(trained) - len(scored),
        stale=n_stale,
        groups=len(groups),
        single_groups=single,
        flat_groups=flat,
        trained_groups=len(kept),
        trained_episodes=sum(not stale(e) for group in kept for e in group),
        policy_version=current,
    )
    if not kept:
        raise TrainingConfigError(
            f"{field}: none of the {len(groups)} groups in {file} has a learning signal: "
            f"{single} have fewer than two fresh episodes and {flat} equal rewards throughout. RL "
            "compares episodes of one task: name the task in each reward (task_id) so a "
            "task's sessions group, and record several per task; or imitate the best with "
            "sft.trajectories and sft.min_reward."
        )
    logger.info("%s: %s", file, json.dumps(counts.to_dict()))
    return RecordedEpisodes(path=file, groups=tuple(kept), counts=counts, max_staleness=bound)


def check_source(
    config: RLConfig,
    recorded: RecordedEpisodes | None,
    *,
    rollout_model: object | None,
    publisher: object | None,
) -> None:
    """Refuse a :func:`~hone.train.train_rl` call that mixes recorded episodes with
    rollouts (``rollout_model`` and ``publisher`` are train_rl's).

    Raises:
        TrainingConfigError: ``config.trajectories`` without recorded episodes, recorded
            episodes with rollout settings, or grouped under another ``max_staleness``.
    """
    if recorded is None:
        if config.trajectories is not None:
            raise TrainingConfigError(
                f"rl.trajectories={config.trajectories!r} trains on recorded episodes: pass "
                "load_recorded(path, config=config) as train_rl's tasks."
            )
        return
    clash = config.rollout_settings()
    if rollout_model is not None and "rollout_model" not in clash:
        clash.append("rollout_model")
    if publisher is not None:
        clash.append("publisher")
    if clash:
        raise TrainingConfigError(
            f"train_rl got recorded episodes, so the rollout settings {', '.join(clash)} do "
            "nothing; drop them."
        )
    if recorded.max_staleness != config.max_staleness:
        raise TrainingConfigError(
            f"the recorded episodes were grouped with max_staleness={recorded.max_staleness}, "
            f"the config says {config.max_staleness}; load them with this config."
        )
