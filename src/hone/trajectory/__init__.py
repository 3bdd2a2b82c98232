"""Trajectories: record what agent programs do, store it and export it.

::

    from hone.trajectory import rollout_batch, TrajectoryStore

    async def program(task, model):
        return await arun_agent(model, tools, task["question"])

    batch = await rollout_batch(program, tasks, model, group_size=8, seed=0, reward=reward)
    TrajectoryStore("runs/traj.db").add(batch.episodes, run="grpo", step=0)

One :class:`Episode` per agent role per rollout, made of :class:`ModelCall` records with the
exact token ids and logprobs of every call (schema version :data:`TRAJECTORY_VERSION`).
Episodes become training samples in :mod:`hone.train` (``episode_samples``, ``sft_samples``);
this package does not depend on it.

Rollouts run in this process by default; ``rollout_batch(..., executor=RayExecutor())`` runs
them in Ray actors against model servers (docs/scale.md).
"""

from hone.trajectory._batch import RolloutBatch, rollout_batch, rollout_group
from hone.trajectory._context import RolloutContext, current_rollout
from hone.trajectory._executor import RolloutExecutor, RolloutJob, RolloutRequest
from hone.trajectory._export import (
    episode_rows,
    read_jsonl,
    read_parquet,
    to_dataset,
    write_jsonl,
    write_openai_jsonl,
    write_parquet,
)
from hone.trajectory._graph import AsyncInvokable, graph_program
from hone.trajectory._local import LocalExecutor
from hone.trajectory._ray import RayExecutor
from hone.trajectory._read import read_episodes
from hone.trajectory._recording import (
    EpisodeRecorder,
    RecordingModel,
    current_recorder,
    derive_seed,
    recording,
)
from hone.trajectory._rollout import Program, rollout, score_episodes
from hone.trajectory._schema import (
    TRAJECTORY_VERSION,
    Episode,
    EpisodeStatus,
    ModelCall,
    task_id_of,
    to_jsonable,
)
from hone.trajectory._store import TrajectoryStore
from hone.trajectory._tokens import TokenRecord, require_token_ids

__all__ = [
    "TRAJECTORY_VERSION",
    "AsyncInvokable",
    "Episode",
    "EpisodeRecorder",
    "EpisodeStatus",
    "LocalExecutor",
    "ModelCall",
    "Program",
    "RayExecutor",
    "RecordingModel",
    "RolloutBatch",
    "RolloutContext",
    "RolloutExecutor",
    "RolloutJob",
    "RolloutRequest",
    "TokenRecord",
    "TrajectoryStore",
    "current_recorder",
    "current_rollout",
    "derive_seed",
    "episode_rows",
    "graph_program",
    "read_episodes",
    "read_jsonl",
    "read_parquet",
    "recording",
    "require_token_ids",
    "rollout",
    "rollout_batch",
    "rollout_group",
    "score_episodes",
    "task_id_of",
    "to_dataset",
    "to_jsonable",
    "write_jsonl",
    "write_openai_jsonl",
    "write_parquet",
]
