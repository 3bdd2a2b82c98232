"""Compare test-time search strategies on one task, offline.

A scripted "model" answers "What is 17 × 24?" correctly 30 % of the time and is off by a
little otherwise; when asked to revise, it fixes its answer half of the time. The same model
runs through best-of-N (with a verifier), self-consistency (no verifier), sequential
refinement and AB-MCTS-A, each with 8 model calls, and the tree is written as Mermaid text.

    python examples/search/compare_strategies.py
"""

from __future__ import annotations

import random

from hone.messages import text_of
from hone.models import ChatRequest, ScriptedModel
from hone.search import (
    ABMCTSA,
    Budget,
    best_of_n,
    model_generator,
    model_reviser,
    model_sampler,
    refine,
    search,
    self_consistency,
    to_mermaid,
)

QUESTION = "What is 17 × 24? Answer with the number only."
RIGHT = 17 * 24


def make_model(seed: int) -> ScriptedModel:
    """A model that is right 30 % of the time, and fixes half of its mistakes when revising."""
    rng = random.Random(seed)

    def reply(request: ChatRequest) -> str:
        revising = len(request.messages) > 1
        previous = text_of(request.messages[-2].content) if revising else ""
        if previous == str(RIGHT) or rng.random() < (0.5 if revising else 0.3):
            return str(RIGHT)
        return str(RIGHT + rng.choice([-30, -20, -10, -6, -4, 4, 6, 10, 20, 30]))

    return ScriptedModel([reply], when_exhausted="cycle", name="arithmetic")


def correct(answer: str) -> float:
    """The verifier: 1.0 for the right number, less the further off it is."""
    try:
        return max(0.0, 1.0 - abs(int(answer) - RIGHT) / 40)
    except ValueError:
        return 0.0


def main() -> None:
    budget = Budget(calls=8)
    sampled = best_of_n(model_sampler(make_model(1), QUESTION), correct, n=8, budget=budget)
    print(
        f"best-of-8:        {sampled.best.value if sampled.best else None} "
        f"(oracle pass@8: {sampled.solved()})"
    )

    vote = self_consistency(model_sampler(make_model(1), QUESTION), n=8, budget=budget)
    print(f"self-consistency: {vote.answer} (votes {vote.votes}, agreement {vote.agreement:.2f})")

    model = make_model(1)
    refined = refine(
        model_sampler(model, QUESTION),
        model_reviser(model, QUESTION),
        correct,
        rounds=7,
        target=1.0,
        budget=budget,
    )
    print(
        f"refinement:       {refined.best.value if refined.best else None} "
        f"after {refined.calls} calls ({refined.stopped})"
    )

    generate = model_generator(make_model(1), QUESTION, correct)
    state = search(ABMCTSA(), {"model": generate}, budget=budget, seed=0)
    best = state.best()
    print(
        f"AB-MCTS-A:        {best.state['answer'] if best else None} "
        f"({len(state)} nodes, best at depth {best.depth if best else 0})"
    )
    print()
    print(
        to_mermaid(
            state, label=lambda n: "root" if n.is_root else f"{n.state['answer']} ({n.score:.2f})"
        )
    )


if __name__ == "__main__":
    main()
