"""An RLM answers a question about a million-character ledger; the plain model cannot.

Run it with ``python examples/rlm/ledger_rlm.py``. The ledger (``hone.rlm.ledger``) hides
about a hundred delivery records among a million characters of filler; the question asks
for the total crates of one good that reached one city. The root model here is the scripted
teacher, which writes correct RLM code, and the sub-model the scripted reader, which reads
one piece exactly: swap in real models (``run_rlm("openai:gpt-4.1", ...)``) and the rest is
the same. It prints each step as the root model saw it, what the run spent, the answer, and
the plain baseline beside it: the same reader given as much of the ledger as a
128k-token window holds.
"""

from __future__ import annotations

from hone.rlm import RLMConfig, run_rlm
from hone.rlm.ledger import ledger_reader, ledger_teacher, make_ledger_task


def main() -> None:
    task = make_ledger_task(seed=7)  # 1,000,000+ characters
    print(f"ledger: {len(task.context):,} characters; {task.question}")

    result = run_rlm(
        ledger_teacher(),
        task.context,
        task.question,
        sub_model=ledger_reader(),
        config=RLMConfig(concurrency=8),
    )
    for step in result.steps:
        print(f"\n--- turn {step.iteration} ({step.status}, {step.sub_calls} sub-calls)")
        print(step.code)
        print(">>>", step.observation[:300])
    usage = result.usage
    print(
        f"\nRLM answer: {result.answer} (truth {task.answer}); stopped: {result.stop_reason}; "
        f"{usage.iterations} turns, {usage.sub_calls} sub-calls, "
        f"{usage.total_tokens:,} tokens, {usage.seconds:.2f}s"
    )
    longest = max(len(m.text) for m in result.messages)
    print(f"longest message the root model read: {longest:,} characters")

    window = 131_072 * 4  # a 128k-token window, at 4 characters a token
    plain = ledger_reader().invoke(f"{task.question}\n\n{task.context[:window]}")
    print(f"plain model with {window:,} characters in its window: {plain.text}")


if __name__ == "__main__":
    main()
