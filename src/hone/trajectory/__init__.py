"""Trajectories: record what agent programs do, store it, export it, and train on it.

::

    from hone.trajectory import rollout_batch, TrajectoryStore

    async def program(task, model):
        return await arun_agent(model, tools, task["question"])

    batch = await rollout_batch(program, tasks, model, group_size=8, seed=0, reward=reward)
    TrajectoryStore("runs/traj.db").add(batch.episodes, run="grpo", step=0)

One :class:`Episode` per agent role per rollout, made of :class:`ModelCall` records with the
exact token ids and logprobs of every call (schema version :data:`TRAJECTORY_VERSION`).
"""

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
from hone.trajectory._recording import (
    EpisodeRecorder,
    RecordingModel,
    current_recorder,
    derive_seed,
    recording,
)
from hone.trajectory._rollout import (
    Program,
    RolloutBatch,
    rollout,
    rollout_batch,
    rollout_group,
    score_episodes,
)
from hone.trajectory._schema import (
    TRAJECTORY_VERSION,
    Episode,
    EpisodeStatus,
    ModelCall,
    task_id_of,
    to_jsonable,
)
from hone.trajectory._store import TrajectoryStore
from hone.trajectory._training import CallTokens, episode_samples, episode_to_calls

__all__ = [
    "TRAJECTORY_VERSION",
    "AsyncInvokable",
    "CallTokens",
    "Episode",
    "EpisodeRecorder",
    "EpisodeStatus",
    "ModelCall",
    "Program",
    "RecordingModel",
    "RolloutBatch",
    "TrajectoryStore",
    "current_recorder",
    "derive_seed",
    "episode_rows",
    "episode_samples",
    "episode_to_calls",
    "graph_program",
    "read_jsonl",
    "read_parquet",
    "recording",
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
