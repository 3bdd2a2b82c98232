"""Run one task set both ways, offline: as task trees (one decoding request per thread, with
and without pruning) and as a flat ReAct agent over the same tools.

The built-in tiny model is untrained, so scripted teachers write the solutions and the model
only processes them (teacher forcing): the costs are real, the answers are the teachers'.

    python examples/threads/lookup_both_ways.py
"""

from __future__ import annotations

from hone.models import load_model
from hone.threads import (
    LookupSuite,
    PruneRule,
    TeacherForcedModel,
    ThreadOptions,
    run_flat,
    run_threads,
)


def main() -> None:
    model = load_model("tiny:")  # a TransformersModel: threads run one request each
    suite = LookupSuite(2, lookups=(3, 4), group_size=2, seed=0)  # small: fits 2,048 positions
    tools = suite.tools()
    rows = []
    for name, rule in (("threads, pruned", PruneRule(stack_size=2)), ("threads, whole", None)):
        results = run_threads(
            model,
            suite.questions,
            tools,
            options=ThreadOptions(prune=rule),
            teacher=suite.tree_teacher(),
        )
        rows.append((name, [r.answer for r in results], [r.stats for r in results]))
    flat = run_flat(TeacherForcedModel(model, suite.flat_teacher()), suite.questions, tools)
    rows.append(("flat agent", [r.answer for r in flat], [r.stats for r in flat]))

    print(f"{'setup':16} {'right':>6} {'calls':>6} {'processed':>10} {'KV at end':>10}")
    for name, answers, stats in rows:
        right = sum(suite.check(answers))
        calls = sum(s.calls for s in stats)
        processed = sum(s.processed_tokens for s in stats)
        kv = sum(s.kv_entries for s in stats)
        print(f"{name:16} {right:>4}/{len(answers)} {calls:>6} {processed:>10} {kv:>10}")


if __name__ == "__main__":
    main()
