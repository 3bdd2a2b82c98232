"""The task of the gateway demonstration, on hone's side: the requests the agent gets, the
reward, the teacher that trains the starting model, and the agent's call as a hone program
(for `hone train`'s own evaluations).

Users ask the agent to say a number, in several phrasings. The phrasings `agent.py` uses in
production are the training ones; two more are held out, to measure the policy before and
after it trains on its traffic. The agent itself (`agent.py`, plain `openai` SDK, no hone)
owns the phrasings; this file reads them from it. Run it to see the task::

    python examples/gateway/numbers_task.py
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path
from typing import Any

from hone.messages import AnyMessage, text_of
from hone.models import ChatRequest, ModelBackend, SamplingOptions, ScriptedModel, make_request
from hone.rewards import reward_fn
from hone.trajectory import Episode

_NUMBER = re.compile(r"\d+")
# Read from the agent's file by path (a module named "agent" may already be imported).
_AGENT = runpy.run_path(str(Path(__file__).with_name("agent.py")))
PHRASINGS: tuple[str, ...] = _AGENT["PHRASINGS"]
TRAIN_PHRASINGS: tuple[int, ...] = _AGENT["TRAIN_PHRASINGS"]
HELD_OUT_PHRASINGS: tuple[int, ...] = _AGENT["HELD_OUT_PHRASINGS"]


def tasks(split: str, seed: int = 0) -> list[dict[str, Any]]:
    """The task source of the training configs: every number 0-9 in each phrasing of the
    split (``train``: the production phrasings; otherwise the held-out ones)."""
    phrasings = TRAIN_PHRASINGS if split == "train" else HELD_OUT_PHRASINGS
    return [
        {"id": f"p{p}-n{n}", "n": n, "prompt": PHRASINGS[p].format(n=n)}
        for p in phrasings
        for n in range(10)
    ]


async def program(task: dict[str, Any], model: ModelBackend) -> list[AnyMessage]:
    """The agent's call as a hone program (the teacher runs it to train the start)."""
    request = make_request(task["prompt"], options=SamplingOptions(max_tokens=8))
    completion = await model.complete(request)
    return [*request.messages, completion.message]


@reward_fn
def reward(episode: Episode) -> float:
    """1.0 when the answer is exactly the number, else 0.0 (score.py judges sessions alike)."""
    return float(episode.final_answer.strip() == str(episode.task["n"]))


def _answer(request: ChatRequest) -> str:
    found = _NUMBER.search(text_of(request.messages[-1].content))
    return found.group(0) if found else ""


def teacher() -> ScriptedModel:
    """A perfect teacher; the starting model imitates it only briefly, so it is unreliable."""
    return ScriptedModel([_answer], name="teacher", when_exhausted="cycle")


if __name__ == "__main__":
    train, held_out = tasks("train"), tasks("eval")
    print(f"{len(train)} requests in production phrasings, {len(held_out)} held out")
    print(f"e.g. {train[0]['prompt']!r} (production), {held_out[0]['prompt']!r} (held out)")
