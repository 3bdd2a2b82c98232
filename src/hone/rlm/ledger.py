"""A generated long-context task for RLMs, its scripted teacher and its reward.

A *ledger* is a long text (a million characters by default, far beyond a small model's
window) of filler lines with delivery records spread through it, in three phrasings::

    Ledger 004211: 37 crates of copper reached Oslo.
    Oslo took delivery of 12 crates of copper (ledger 009310).
    Entry 012877 — copper, 5 crates, bound for Oslo, arrived.

The question asks for the total crates of one good that reached one city; the answer is an
exact integer, so runs are verifiable and rewardable. Other goods and cities are
distractors. Everything is a function of the seed::

    from hone.rlm.ledger import make_ledger_task
    task = make_ledger_task(seed=0, chars=50_000)
    print(task.question, task.answer, len(task.context))

:func:`ledger_teacher` is a scripted root model that writes correct RLM code (explore,
split into chunks, ``llm_query_batched``, sum; or a regular expression over the whole
context), :func:`ledger_reader` a scripted sub-model that reads the records in a prompt
exactly: together they are the ceiling an RLM policy can reach, and the teacher's episodes
are SFT data. :func:`ledger_reward` scores an episode 1 when its answer is the total.
"""

from hone.rlm._ledger import (
    CITIES,
    GOODS,
    LedgerStrategy,
    LedgerTask,
    count_crates,
    ledger_answer,
    ledger_reader,
    ledger_reward,
    ledger_teacher,
    make_ledger_task,
)

__all__ = [
    "CITIES",
    "GOODS",
    "LedgerStrategy",
    "LedgerTask",
    "count_crates",
    "ledger_answer",
    "ledger_reader",
    "ledger_reward",
    "ledger_teacher",
    "make_ledger_task",
]
