"""Search over agent episodes: forks of graph checkpoints, recorded as trainable episodes."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from hone.checkpoint import InMemorySaver
from hone.errors import ConfigError, SearchError
from hone.graph import END, START, MessagesState, StateGraph, get_model
from hone.models import ChatRequest, SamplingOptions, ScriptedModel
from hone.rewards import reward_fn
from hone.search import ABMCTSA, MCTS, EpisodeRef, EpisodeSearch, asearch, search
from hone.trajectory import Episode, TrajectoryStore


async def _agent(state: MessagesState) -> dict[str, Any]:
    request = ChatRequest(
        messages=tuple(state["messages"]), options=SamplingOptions(return_token_ids=True)
    )
    completion = await get_model().complete(request)
    return {"messages": [completion.message]}


def _route(state: MessagesState) -> str:
    return END if "final" in state["messages"][-1].text else "agent"


def _graph() -> Any:
    builder = StateGraph(MessagesState)
    builder.add_node("agent", _agent)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", _route, ["agent", END])
    return builder.compile(checkpointer=InMemorySaver())


def _score(episode: Episode) -> float:
    found = re.search(r"final ([0-9.]+)", episode.final_text)
    return float(found.group(1)) if found else 0.0


REWARD = reward_fn(_score)


def _texts(graph: Any, ref: dict[str, Any]) -> list[str]:
    config = {
        "configurable": {"thread_id": ref["thread_id"], "checkpoint_id": ref["checkpoint_id"]}
    }
    return [m.text for m in graph.get_state(config).values["messages"]]


def test_a_fork_resumes_from_the_parent_checkpoint() -> None:
    graph = _graph()
    model = ScriptedModel(["step a", "step b", "final 0.2", "step c", "final 0.9"])
    searcher = EpisodeSearch(graph, "solve it", model, REWARD, steps=1)
    first, score, _ = searcher.generate(None)  # one super-step: the episode goes on
    assert score == 0.0 and first["done"] is False
    assert _texts(graph, first) == ["solve it", "step a"]
    end, score, _ = asyncio.run(_run_on(searcher, first, 2))
    assert end["done"] and score == 0.2
    assert _texts(graph, end) == ["solve it", "step a", "step b", "final 0.2"]
    fork, _, _ = searcher.generate(first)  # a second branch from the same checkpoint
    fork_end, fork_score, _ = asyncio.run(_run_on(searcher, fork, 1))
    # before the fork the branches share their state; after it they differ
    assert _texts(graph, fork_end) == ["solve it", "step a", "step c", "final 0.9"]
    assert fork_score == 0.9 and fork_end["thread_id"] == first["thread_id"]
    history = list(graph.get_state_history({"configurable": {"thread_id": first["thread_id"]}}))
    parents = {
        s.config["configurable"]["checkpoint_id"]: (s.parent_config or {})
        .get("configurable", {})
        .get("checkpoint_id")
        for s in history
    }
    # resuming from a past checkpoint writes a "fork" copy of it, then runs on
    assert parents[parents[fork["checkpoint_id"]]] == first["checkpoint_id"]
    assert _ancestors(parents, end["checkpoint_id"]) & _ancestors(
        parents, fork_end["checkpoint_id"]
    ) == (_ancestors(parents, first["checkpoint_id"]) | {first["checkpoint_id"]})
    children = [c for c, p in parents.items() if p == first["checkpoint_id"]]
    assert len(children) == 2  # one per branch


def _ancestors(parents: dict[str, str | None], checkpoint: str) -> set[str]:
    found: set[str] = set()
    current = parents.get(checkpoint)
    while current is not None:
        found.add(current)
        current = parents.get(current)
    return found


async def _run_on(searcher: EpisodeSearch, ref: dict[str, Any], times: int) -> Any:
    result: Any = None
    for _ in range(times):
        result = await searcher.agenerate(ref)
        ref = result[0]
    return result


def test_expansions_are_recorded_with_tokens_and_metadata(tmp_path: Any) -> None:
    store = TrajectoryStore(tmp_path / "traj.db")
    model = ScriptedModel(["step a", "final 0.5", "final 0.7"])
    searcher = EpisodeSearch(_graph(), "solve it", model, REWARD, store=store, run="s", seed=3)
    root, _, usage = searcher.generate(None)
    child, score, _ = searcher.generate(root)  # the episode ended: refined with a critique
    assert score == 0.7 and usage.completion_tokens > 0
    stored = store.query(run="s")
    assert [e.id for e in stored] == [root["episode_id"], child["episode_id"]]
    refined = searcher.episode(child)
    info = refined.metadata["search"]
    assert info["kind"] == "refine" and info["parent_checkpoint"] == root["checkpoint_id"]
    assert info["parent_episode"] == root["episode_id"] and info["own_calls"] == 1
    assert info["checkpoint_id"] == child["checkpoint_id"]
    # the whole trajectory: the parent's two calls, then its own, each with token ids
    assert [c.index for c in refined.calls] == [0, 1, 2]
    assert all(c.has_tokens for c in refined.calls)
    texts = [m.get("content") for m in refined.messages]
    assert "That scored 0.50 out of 1. Try again." in texts
    assert refined.reward == 0.7 and refined.group_id == searcher.search_id
    assert stored[0].seed != stored[1].seed  # a fresh seed per expansion


def test_failures_are_recorded_and_the_search_goes_on() -> None:
    calls = iter(range(100))

    def reply(request: ChatRequest) -> str:
        n = next(calls)
        if n % 3 == 1:
            raise RuntimeError("backend down")
        return f"final 0.{n % 9 + 1}"

    searcher = EpisodeSearch(_graph(), "solve it", ScriptedModel([reply] * 100), REWARD)
    state = search(ABMCTSA(), {"agent": searcher.agenerate}, budget=9, seed=0)
    assert state.failures and len(state) + len(state.failures) == 9  # 9 trials
    assert "backend down" in state.failures[0].error
    failed = [e for e in searcher.episodes.values() if e.status == "error"]
    assert len(failed) == len(state.failures)
    assert all(e.metadata["search"]["checkpoint_id"] is None for e in failed)
    best = searcher.best_episode(state)
    assert best is not None and best.reward == state.best().score


def test_a_timeout_is_a_recorded_failed_trial() -> None:
    async def slow(request: ChatRequest) -> str:
        await asyncio.sleep(5)
        return "final 1"

    class Slow(ScriptedModel):
        async def complete(self, request: ChatRequest) -> Any:
            await asyncio.sleep(5)
            return await super().complete(request)

    searcher = EpisodeSearch(_graph(), "solve it", Slow(["final 1"] * 4), REWARD)
    state = asyncio.run(
        asearch(MCTS(), {"agent": searcher.agenerate}, budget=2, timeout=0.2, seed=0)
    )
    assert len(state.failures) == 2 and "timed out" in state.failures[0].error
    assert [e.error for e in searcher.episodes.values()] == [
        "the expansion was cancelled (timed out)"
    ] * 2


def test_bad_input_is_refused_clearly() -> None:
    builder = StateGraph(MessagesState)
    builder.add_node("agent", _agent)
    builder.add_edge(START, "agent")
    no_saver = builder.compile()
    with pytest.raises(ConfigError, match="checkpointer"):
        EpisodeSearch(no_saver, "t", ScriptedModel(["x"]), REWARD)
    with pytest.raises(ConfigError, match="hone Reward"):
        EpisodeSearch(_graph(), "t", ScriptedModel(["x"]), _score)  # type: ignore[arg-type]
    searcher = EpisodeSearch(_graph(), "t", ScriptedModel(["final 1"]), REWARD)
    with pytest.raises(SearchError, match="not an episode reference"):
        searcher.generate({"thread_id": "x"})
    with pytest.raises(SearchError, match="not recorded"):
        searcher.episode(EpisodeRef("t", "c", "ep_missing", True))
    state, score, _ = searcher.generate(None)
    refuse = EpisodeSearch(_graph(), "t", ScriptedModel(["final 1"]), REWARD, critique=None)
    refuse.episodes = searcher.episodes
    with pytest.raises(SearchError, match="no critique"):
        refuse.generate(state)
    assert score == 1.0


def test_retry_last_runs_a_finished_episode_s_last_step_again() -> None:
    graph = _graph()
    model = ScriptedModel(["step a", "final 0.1", "final 0.8"])
    searcher = EpisodeSearch(graph, "solve it", model, REWARD, on_done="retry_last")
    root, _, _ = searcher.generate(None)
    retry, score, _ = searcher.generate(root)
    assert score == 0.8 and _texts(graph, retry) == ["solve it", "step a", "final 0.8"]
    episode = searcher.episode(retry)
    assert episode.metadata["search"]["kind"] == "retry"
    assert [c.output["content"] for c in episode.calls] == ["step a", "final 0.8"]


def test_an_expansion_that_runs_no_step_is_a_failure() -> None:
    builder = StateGraph(MessagesState)
    builder.add_node("agent", _agent)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", END)  # a critique written as "agent" leads nowhere
    graph = builder.compile(checkpointer=InMemorySaver())
    searcher = EpisodeSearch(graph, "t", ScriptedModel(["final 0.5", "final 1"]), REWARD)
    root, _, _ = searcher.generate(None)
    with pytest.raises(SearchError, match="ran no step"):
        searcher.generate(root)
    failed = [e for e in searcher.episodes.values() if e.status == "error"]
    assert len(failed) == 1 and failed[0].metadata["search"]["kind"] == "refine"


def test_a_saved_search_resumes_from_its_checkpoints() -> None:
    graph = _graph()
    model = ScriptedModel([f"final 0.{i}" for i in range(1, 9)])
    searcher = EpisodeSearch(graph, "t", model, REWARD, on_done="retry_last")
    algo = ABMCTSA()
    state = search(algo, {"agent": searcher.agenerate}, budget=3, seed=1)
    resumed = algo.from_json(state.to_json())  # node states are JSON checkpoint references
    resumed = search(algo, {"agent": searcher.agenerate}, budget=3, state=resumed)
    assert len(resumed) == 6 and not resumed.failures
    for node in resumed.nodes[1:]:
        assert _texts(graph, node.state)[-1] == searcher.episode(node.state).final_text
