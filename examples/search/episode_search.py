"""Search over whole agent episodes by forking graph checkpoints, offline.

A two-node agent graph (``think`` then ``answer``, checkpointed after each step) guesses a
number; a scripted "model" thinks of a plan, then answers, and is right more often after the
plan "halve it". AB-MCTS-A decides at each step whether to start a new episode or to fork a
finished one's last step (``on_done="retry_last"``). Every expansion is recorded as a
trainable episode in a trajectory store, and the episodes expert iteration would imitate are
picked with ``best_episodes``.

    python examples/search/episode_search.py
"""

from __future__ import annotations

import random
from typing import Any

from hone.checkpoint import InMemorySaver
from hone.graph import END, START, MessagesState, StateGraph, get_model
from hone.models import ChatRequest, SamplingOptions, ScriptedModel
from hone.rewards import reward_fn
from hone.search import ABMCTSA, EpisodeSearch, best_episodes, search, to_mermaid
from hone.trajectory import Episode, TrajectoryStore

TARGET = 42
rng = random.Random(0)


def reply(request: ChatRequest) -> str:
    """Plan first; then answer, right 60 % of the time after halving, 10 % otherwise."""
    history = [m.text for m in request.messages]
    if len(history) == 1:
        return rng.choice(["plan: halve it", "plan: guess"])
    right = rng.random() < (0.6 if "halve" in history[1] else 0.1)
    return f"answer {TARGET if right else rng.randint(30, 41)}"


async def step(state: MessagesState) -> dict[str, Any]:
    options = SamplingOptions(return_token_ids=True)
    request = ChatRequest(messages=tuple(state["messages"]), options=options)
    completion = await get_model().complete(request)
    return {"messages": [completion.message]}


def build_graph() -> Any:
    builder = StateGraph(MessagesState)
    builder.add_node("think", step)
    builder.add_node("answer", step)
    builder.add_edge(START, "think")
    builder.add_edge("think", "answer")
    builder.add_edge("answer", END)
    return builder.compile(checkpointer=InMemorySaver())


def closeness(episode: Episode) -> float:
    """1 for the target, less the further the answer is from it."""
    text = episode.final_text.removeprefix("answer ").strip()
    return max(0.0, 1.0 - abs(int(text) - TARGET) / TARGET) if text.isdigit() else 0.0


def main() -> None:
    store = TrajectoryStore("episodes.db")
    searcher = EpisodeSearch(
        build_graph(),
        "Guess the number.",
        ScriptedModel([reply] * 64),
        reward_fn(closeness),
        store=store,
        run="example",
        on_done="retry_last",
        seed=0,
    )
    state = search(ABMCTSA(), {"agent": searcher.agenerate}, budget=12, seed=0)
    best = searcher.best_episode(state)
    assert best is not None
    print(f"{len(state)} expansions, {len(state.failures)} failed; best reward {best.reward:.2f}")
    for episode in store.query(run="example"):
        info = episode.metadata["search"]
        print(
            f"  #{info['index']:>2} {info['kind']:<5} reward {episode.reward:.2f} "
            f"calls {len(episode.calls)} (own {info['own_calls']}): {episode.final_text}"
        )
    chosen = best_episodes(list(searcher.episodes.values()))
    print(f"expert iteration would imitate {len(chosen)} episode(s):")
    for episode in chosen:
        print("  " + " | ".join(str(m.get("content")) for m in episode.messages))
    print(to_mermaid(state, max_nodes=6))


if __name__ == "__main__":
    main()
