"""Answering interrupts: matching a ``Command(resume=...)`` to pending interrupts, and carrying
pending interrupts over to the checkpoint that ``update_state`` writes.

Interrupts are stored as pending writes of the checkpoint the interrupted step started from:
an ``__interrupt__`` record per question (``{"task_id", "id", "value"}``) and a ``__resume__``
record per answer (``{"id", "value"}``). An interrupt id is derived from its task's id, and a
task id from the checkpoint id, so a new checkpoint would give the interrupted node new ids and
lose its question. :func:`carry_interrupts` keeps them: the node's task on the new checkpoint
gets an ``__alias__`` write naming its old task id, which the run then uses as the task's id —
its interrupt ids, answers and subgraph namespace stay the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hone.errors import ResumeError

if TYPE_CHECKING:
    from hone.graph._loop import Run
    from hone.graph._task import Task

__all__ = ["ALIAS", "CACHED", "ERROR", "INTERRUPT", "RESUME", "accept_resume", "carry_interrupts"]

INTERRUPT = "__interrupt__"
RESUME = "__resume__"
#: A task on a checkpoint written by update_state that takes over an interrupted task's id.
ALIAS = "__alias__"
#: A task's final failure: ``{"type": ..., "message": ...}``.
ERROR = "__error__"
#: A value a task kept across resumes: ``{"task_id", "key", "value"}`` (TaskScope.remember).
CACHED = "__cached__"


def accept_resume(run: Run, value: Any) -> None:
    """Record the answers of ``Command(resume=value)`` for the run's pending interrupts.

    Raises:
        ResumeError: nothing is pending, an unknown interrupt id, or one value for several.
    """
    pending = [i for i in run.pending_interrupts if i not in run.resume]
    if not pending:
        raise ResumeError(
            f"thread {run.thread_id!r} has no pending interrupt to resume; "
            f"invoke(None, config) continues a thread stopped at a breakpoint"
        )
    answers = _resume_map(run, value, pending)
    for iid, answer in answers.items():
        run.resume[iid] = answer
        # Stored under its own task id: the interrupt's write already holds (iid, 0).
        run.put_writes(f"resume:{iid}", RESUME, [(RESUME, {"id": iid, "value": answer})])


def _resume_map(run: Run, value: Any, pending: list[str]) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        unknown = [k for k in value if k not in run.pending_interrupts]
        if not unknown:
            return dict(value)
        if len(unknown) < len(value) or all(_looks_like_id(k) for k in value):
            raise ResumeError(
                f"thread {run.thread_id!r} has no pending interrupt with id {unknown[0]!r}; "
                f"pending: {pending}"
            )
    if len(pending) == 1:
        return {pending[0]: value}
    raise ResumeError(
        f"thread {run.thread_id!r} has {len(pending)} pending interrupts; resume with a "
        f"map {{interrupt_id: value}} over {pending}"
    )


def _looks_like_id(key: Any) -> bool:
    return isinstance(key, str) and len(key) == 32 and all(c in "0123456789abcdef" for c in key)


def carry_interrupts(run: Run, before: list[Task]) -> None:
    """After update_state committed a new checkpoint: give each interrupted task of ``before``
    (the plan of the old checkpoint) that runs again from the new one its old id, questions
    and answers, saved as pending writes of the new checkpoint."""
    by_task: dict[str, list[dict[str, Any]]] = {}
    for record in run.pending_interrupts.values():
        by_task.setdefault(record["task_id"], []).append(record)
    old = {(t.name, t.path): t.id for t in before if t.id in by_task}
    if not old:
        return
    for task in run.plan():
        old_id = old.get((task.name, task.path))
        if old_id is None:
            continue
        run.put_writes(task.id, task.name, [(ALIAS, old_id)])
        for record in by_task[old_id]:
            iid = record["id"]
            run.put_writes(iid, task.name, [(INTERRUPT, record)])
            if iid in run.resume:
                answer = {"id": iid, "value": run.resume[iid]}
                run.put_writes(f"resume:{iid}", RESUME, [(RESUME, answer)])
