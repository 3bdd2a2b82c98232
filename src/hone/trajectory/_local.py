"""The in-process rollout executor: what :func:`~hone.trajectory.rollout_batch` does by
default, as a :class:`~hone.trajectory.RolloutExecutor` (and what each Ray actor runs)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from hone.trajectory._executor import RolloutJob, RolloutRequest
from hone.trajectory._rollout import rollout_unscored
from hone.trajectory._schema import Episode

__all__ = ["LocalExecutor"]


class LocalExecutor:
    """Runs rollouts in this process, on the running event loop, all at once.

    The same as passing no executor to :func:`~hone.trajectory.rollout_batch`: the program
    and its models are used as they are (nothing is copied or sent anywhere). A sync program
    runs in a worker thread.
    """

    async def run(self, job: RolloutJob, requests: Sequence[RolloutRequest]) -> list[list[Episode]]:
        """Run every request concurrently; one list of unscored episodes per request."""
        return list(
            await asyncio.gather(
                *(
                    rollout_unscored(
                        job.program,
                        request.task,
                        job.model,
                        roles=job.roles,
                        seed=request.seed,
                        group_id=request.group_id,
                        index=request.index,
                    )
                    for request in requests
                )
            )
        )
