"""A RULER-style group judge: an LLM scores every rollout of a task side by side.

Comparing trajectories of the same task is easier and more consistent than scoring each on an
absolute scale. On top of that idea (from ART's RULER) this judge:

* sends the messages every trajectory shares (the longest common prefix) once, as context;
* shows the trajectories in a different random order on each of ``repeats`` calls and maps
  the scores back, so position bias averages out;
* averages over the repeats and reports the per-trajectory variance;
* retries a malformed answer once, then drops that repeat (and reports it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hone.errors import ConfigError, ModelError
from hone.messages import SystemMessage, UserMessage
from hone.models._protocol import ChatRequest, ModelBackend, SamplingOptions
from hone.parsing import lenient_json
from hone.rewards._protocol import RewardResult
from hone.trajectory import Episode, derive_seed

__all__ = ["DEFAULT_RUBRIC", "GroupJudge", "common_prefix_length", "render_messages"]

logger = logging.getLogger(__name__)

DEFAULT_RUBRIC = """\
- A trajectory that achieves the user's goal must score higher than any that does not.
- Among trajectories that achieve the goal, prefer those that get there more efficiently: fewer \
steps, no wasted or repeated tool calls, no needless detours.
- Where the goal is not reached, give more credit for more real progress towards it.
- Make the differences between scores match the differences in quality: trajectories of \
similar quality get similar scores, a much better one gets a much higher score."""

_INSTRUCTIONS = """\
You are an impartial judge. You will see {n} trajectories of an AI agent attempting the same \
task{context_note}. Score each trajectory from 0 (worst) to 1 (best).

Rubric:
{rubric}

Reply with JSON only, in exactly this shape, with one entry per trajectory:
{{"scores": [{{"trajectory_id": "1", "explanation": "one or two sentences", "score": 0.5}}]}}"""


def common_prefix_length(transcripts: Sequence[Sequence[Mapping[str, Any]]]) -> int:
    """How many leading messages every transcript shares."""
    if not transcripts:
        return 0
    length = min(len(t) for t in transcripts)
    for i in range(length):
        if any(t[i] != transcripts[0][i] for t in transcripts[1:]):
            return i
    return length


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return "" if content is None else str(content)


def render_messages(messages: Sequence[Mapping[str, Any]], max_chars: int | None = None) -> str:
    """A compact, readable rendering of OpenAI-format messages for a judge."""
    lines: list[str] = []
    for message in messages:
        role = str(message.get("role", "?"))
        text = _text(message.get("content"))
        if max_chars is not None and len(text) > max_chars:
            text = text[:max_chars] + f" …[{len(text) - max_chars} more characters]"
        header = (
            f"[tool result {message.get('tool_call_id', '')}]" if role == "tool" else f"[{role}]"
        )
        lines.append(f"{header} {text}".rstrip())
        for call in message.get("tool_calls") or ():
            function = call.get("function", {})
            lines.append(f"  -> call {function.get('name')}({function.get('arguments')})")
    return "\n".join(lines) if lines else "(no further messages)"


@dataclass(slots=True)
class _Repeat:
    """One judged ordering: scores in the original order, or why there are none."""

    scores: list[float] | None
    explanations: list[str]
    error: str | None = None


def _parse_scores(text: str, n: int) -> tuple[dict[int, tuple[float, str]] | None, str | None]:
    """Scores by presented id (1..n) from the judge's reply, or why it cannot be used."""
    value, error = lenient_json(text)
    if error is not None:
        return None, f"reply is not JSON: {error}"
    items = value.get("scores") if isinstance(value, dict) else value
    if not isinstance(items, list):
        return None, 'reply has no "scores" list'
    found: dict[int, tuple[float, str]] = {}
    for item in items:
        if not isinstance(item, dict):
            return None, "a scores entry is not an object"
        raw_id, score = item.get("trajectory_id", item.get("id")), item.get("score")
        try:
            index = int(str(raw_id).strip())
        except ValueError:
            return None, f"unknown trajectory id {raw_id!r}"
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
            return None, f"score of trajectory {raw_id} is not a number in [0, 1]: {score!r}"
        found[index] = (float(score), str(item.get("explanation", "")))
    if set(found) != set(range(1, n + 1)):
        return None, f"expected scores for trajectories 1..{n}, got ids {sorted(found)}"
    return found, None


class GroupJudge:
    """Scores a group of episodes of one task with an LLM judge (any hone model backend).

    Args:
        model: the judge model, local or remote.
        rubric: what makes a trajectory good (default :data:`DEFAULT_RUBRIC`).
        repeats: judge calls per group, each with its own ordering; scores are averaged.
        shuffle: present the trajectories in a random order on each repeat.
        seed: seeds the orderings (and the judge calls, unless ``options`` sets a seed).
        options: sampling options for the judge.
        max_message_chars: cut longer message texts (tool outputs) to this many characters.
    """

    def __init__(
        self,
        model: ModelBackend,
        *,
        rubric: str = DEFAULT_RUBRIC,
        repeats: int = 1,
        shuffle: bool = True,
        seed: int = 0,
        options: SamplingOptions | None = None,
        max_message_chars: int | None = 4000,
    ) -> None:
        if repeats < 1:
            raise ConfigError(f"repeats must be at least 1, got {repeats}")
        self.model = model
        self.rubric = rubric
        self.repeats = repeats
        self.shuffle = shuffle
        self.seed = seed
        self.options = options or SamplingOptions(max_tokens=1024)
        self.max_message_chars = max_message_chars

    async def score(self, episodes: Sequence[Episode]) -> list[RewardResult]:
        """Judge the group ``repeats`` times and average; see the module docs."""
        if not episodes:
            return []
        transcripts = [e.transcript() for e in episodes]
        # Every trajectory keeps at least its last message (a group of one, identical ones).
        shared = max(0, min(common_prefix_length(transcripts), min(map(len, transcripts)) - 1))
        context = render_messages(transcripts[0][:shared], self.max_message_chars) if shared else ""
        bodies = [render_messages(t[shared:], self.max_message_chars) for t in transcripts]
        repeats = await asyncio.gather(
            *(self._repeat(r, context, bodies) for r in range(self.repeats))
        )
        return self._aggregate(repeats, len(episodes))

    def _request(
        self, context: str, bodies: Sequence[str], order: Sequence[int], seed: int
    ) -> ChatRequest:
        note = ", continuing from a shared context" if context else ""
        system = _INSTRUCTIONS.format(n=len(bodies), context_note=note, rubric=self.rubric)
        parts = [f"<context>\n{context}\n</context>"] if context else []
        parts += [
            f'<trajectory id="{p + 1}">\n{bodies[i]}\n</trajectory>' for p, i in enumerate(order)
        ]
        options = self.options if self.options.seed is not None else self.options.with_(seed=seed)
        return ChatRequest(
            messages=(SystemMessage(content=system), UserMessage(content="\n\n".join(parts))),
            options=options,
        )

    async def _repeat(self, r: int, context: str, bodies: Sequence[str]) -> _Repeat:
        order = list(range(len(bodies)))  # presented position p shows trajectory order[p]
        if self.shuffle:
            random.Random(derive_seed(self.seed, "order", r)).shuffle(order)
        errors: list[str] = []
        for attempt in range(2):  # one retry on a malformed reply
            request = self._request(
                context, bodies, order, derive_seed(self.seed, "call", r, attempt)
            )
            try:
                completion = await self.model.complete(request)
            except ModelError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            parsed, error = _parse_scores(completion.message.text or completion.text, len(bodies))
            if parsed is None:
                errors.append(error or "malformed reply")
                continue
            scores, notes = [0.0] * len(bodies), [""] * len(bodies)
            for p, i in enumerate(order):
                scores[i], notes[i] = parsed[p + 1]
            return _Repeat(scores, notes)
        logger.warning("judge repeat %d dropped: %s", r, "; ".join(errors))
        return _Repeat(None, [], f"repeat {r} dropped: " + "; then ".join(errors))

    def _aggregate(self, repeats: Sequence[_Repeat], n: int) -> list[RewardResult]:
        usable = [rep for rep in repeats if rep.scores is not None]
        dropped = [rep.error or "" for rep in repeats if rep.scores is None]
        if not usable:
            return [RewardResult.failed("judge gave no usable scores: " + " | ".join(dropped))] * n
        results: list[RewardResult] = []
        for i in range(n):
            values = [rep.scores[i] for rep in usable if rep.scores is not None]
            mean = statistics.fmean(values)
            notes = [rep.explanations[i] for rep in usable if rep.explanations[i]]
            explanation = notes[0] if len(notes) == 1 else json.dumps(notes, ensure_ascii=False)
            components = {
                "judge_mean": mean,
                "judge_variance": statistics.pvariance(values) if len(values) > 1 else 0.0,
                "judge_repeats": float(len(values)),
                "judge_dropped": float(len(dropped)),
            }
            results.append(RewardResult(mean, components, explanation or None))
        return results
