"""Where rollouts run: the :class:`RolloutExecutor` protocol and the data it is given.

:func:`~hone.trajectory.rollout_batch` decides *which* rollouts to run (tasks, groups, seeds,
the concurrency limit and the failure budget); an executor decides *where* each one runs. A
batch is one :class:`RolloutJob` (what every rollout shares: the program, its model or models,
the roles) and many :class:`RolloutRequest` values (what differs: task, seed, group, index).
Both are plain data, so an executor can send them to other processes or machines:

* :class:`~hone.trajectory.LocalExecutor` runs them in this process, as ``rollout_batch``
  does without an executor;
* :class:`~hone.trajectory.RayExecutor` runs them in Ray actors, which hold the program and a
  model that talks to a server (``hone serve``, vLLM) and send back serialised episodes.

An executor never raises for a failed rollout: a program that raises, or a worker that dies
under it, becomes episodes with ``status="error"`` (counted against ``max_failures``). It
raises for misuse only: a job it cannot send, or cannot load where it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from hone.errors import HoneError
from hone.models._protocol import ModelBackend
from hone.trajectory._recording import RecordingModel
from hone.trajectory._schema import Episode, task_id_of, to_jsonable

__all__ = [
    "RolloutExecutor",
    "RolloutJob",
    "RolloutRequest",
    "failed_episodes",
    "job_roles",
    "run_one",
]


@dataclass(frozen=True, slots=True)
class RolloutJob:
    """What every rollout of a batch shares.

    Attributes:
        program: ``program(task, model)`` (or ``program(task, {role: model})``), as
            :func:`~hone.trajectory.rollout` takes it.
        model: the backend shared by all roles, or one backend per role.
        roles: role names for a multi-role program sharing one backend (None: one role, or the
            keys of a model mapping).
    """

    program: Callable[[Any, Any], Any]
    model: ModelBackend | Mapping[str, ModelBackend]
    roles: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class RolloutRequest:
    """One rollout to run.

    Attributes:
        task: the task (JSON-like data).
        seed: the rollout's seed (see :func:`~hone.trajectory.derive_seed`).
        group_id: the group it belongs to.
        index: its position in the group.
    """

    task: Any
    seed: int | None = None
    group_id: str | None = None
    index: int = 0


@runtime_checkable
class RolloutExecutor(Protocol):
    """Runs rollouts somewhere: in this process, in Ray actors, ...

    ``run`` returns one list of *unscored* episodes per request (one episode per role), in
    the order of ``requests``. A rollout that fails, however it fails, is episodes with
    ``status="error"`` and an ``error`` that says why; ``run`` raises only for misuse
    (:class:`~hone.errors.ConfigError`: a job that cannot be sent or loaded).
    """

    async def run(self, job: RolloutJob, requests: Sequence[RolloutRequest]) -> list[list[Episode]]:
        """Run every request of ``job``; one list of episodes per request, in order."""
        ...


def job_roles(job: RolloutJob) -> list[str]:
    """The roles whose episodes a rollout of ``job`` records (as the in-process run names
    them): the given roles, the model mapping's keys, a recording model's role, or
    ``"agent"``."""
    if job.roles is not None:
        return list(job.roles)
    if isinstance(job.model, Mapping):
        return list(job.model)
    if isinstance(job.model, RecordingModel):
        return [job.model.role]
    return ["agent"]


def failed_episodes(job: RolloutJob, request: RolloutRequest, error: str) -> list[Episode]:
    """The episodes of a rollout that failed outside the program (its worker died, say):
    one per role, ``status="error"``, unscored, with ``error`` as the reason."""
    return [
        Episode(
            task_id=task_id_of(request.task),
            task=to_jsonable(request.task),
            role=role,
            status="error",
            stop_reason="error",
            error=error,
            group_id=request.group_id,
            seed=request.seed,
        )
        for role in job_roles(job)
    ]


async def run_one(
    executor: RolloutExecutor, job: RolloutJob, request: RolloutRequest
) -> list[Episode]:
    """The episodes of one rollout run by ``executor``.

    Raises:
        HoneError: the executor broke its contract (not one result for one request).
    """
    results = await executor.run(job, [request])
    if len(results) != 1:
        raise HoneError(
            f"{type(executor).__name__}.run returned {len(results)} results for 1 request; "
            "an executor returns one list of episodes per request"
        )
    return results[0]
