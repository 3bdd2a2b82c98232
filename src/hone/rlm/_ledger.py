"""The ledger task, its scripted teacher and reader, and its reward (see :mod:`hone.rlm.ledger`)."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from hone.errors import ConfigError
from hone.messages import AnyMessage, AssistantMessage, UserMessage
from hone.models import ScriptedModel
from hone.models._protocol import ChatRequest
from hone.rewards import FunctionReward, reward_fn
from hone.trajectory import Episode

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

#: The cities deliveries reach.
CITIES = ("Oslo", "Lima", "Pune", "Cork", "Nara", "Bern", "Kobe", "Accra")
#: The goods delivered.
GOODS = ("copper", "tin", "salt", "wool", "amber", "cedar", "indigo", "pepper")
#: How the teacher's code answers: chunks read by sub-calls, or one regular expression.
LedgerStrategy: TypeAlias = Literal["sub_calls", "code"]

_TEMPLATES = (
    "Ledger {id:06d}: {n} crates of {good} reached {city}.",
    "{city} took delivery of {n} crates of {good} (ledger {id:06d}).",
    "Entry {id:06d} — {good}, {n} crates, bound for {city}, arrived.",
)
_PATTERNS = (
    re.compile(r"Ledger \d{6}: (\d+) crates of ([a-z]+) reached ([A-Z][a-z]+)\."),
    re.compile(r"([A-Z][a-z]+) took delivery of (\d+) crates of ([a-z]+) \(ledger \d{6}\)\."),
    re.compile(r"Entry \d{6} — ([a-z]+), (\d+) crates, bound for ([A-Z][a-z]+), arrived\."),
)
_QUESTION = re.compile(r"How many crates of ([a-z]+) reached ([A-Z][a-z]+) in total\?")
_FILLER = (
    "the committee reviewed notes on irrigation and the harbour schedule while clerks "
    "argued about weather tariffs lanterns ropes ledgers barrels winter grain mills roads "
    "bridges a caravan of mules rested near the old gate as merchants counted coins and "
    "sailors mended nets under grey skies before the evening bell"
)
_WORDS = _FILLER.split()


@dataclass(frozen=True, slots=True)
class LedgerTask:
    """One ledger and its question.

    Attributes:
        seed: what the ledger was generated from.
        chars: its requested length in characters.
        good: the good asked about.
        city: the city asked about.
        answer: the total crates of ``good`` that reached ``city``.
        records: how many records count toward it.
        context: the ledger's text.
    """

    seed: int
    chars: int
    good: str
    city: str
    answer: int
    records: int
    context: str = field(repr=False)

    @property
    def question(self) -> str:
        """The question, as the RLM and the plain model are asked it."""
        return f"How many crates of {self.good} reached {self.city} in total?"

    def record(self) -> dict[str, Any]:
        """The task as a rollout's small JSON record (the text stays out of episodes):
        :func:`make_ledger_task` ``(record["seed"], chars=record["chars"])`` rebuilds it."""
        return {
            "id": f"ledger-{self.seed}-{self.chars}",
            "seed": self.seed,
            "chars": self.chars,
            "question": self.question,
            "answer": self.answer,
        }


def make_ledger_task(seed: int, *, chars: int = 1_000_000, records: int = 400) -> LedgerTask:
    """A ledger of about ``chars`` characters with ``records`` delivery records spread
    through it, deterministic in ``seed``. About a quarter of the records are about the
    asked good and city; many others share its good or its city.

    Raises:
        ConfigError: ``chars`` below 2,000 or ``records`` below 1.
    """
    if chars < 2_000 or records < 1:
        raise ConfigError(f"a ledger needs chars >= 2000 and records >= 1, got {chars}, {records}")
    rng = random.Random(seed)
    good, city = rng.choice(GOODS), rng.choice(CITIES)
    facts: list[str] = []
    total = matching = 0
    for _ in range(records):
        asked = rng.random() < 0.12
        g = good if asked or rng.random() < 0.3 else rng.choice(GOODS)
        c = city if asked or rng.random() < 0.3 else rng.choice(CITIES)
        n = rng.randint(1, 99)
        if g == good and c == city:
            total, matching = total + n, matching + 1
        template = rng.choice(_TEMPLATES)
        facts.append(template.format(id=rng.randrange(1_000_000), n=n, good=g, city=c))
    lines: list[str] = []
    size = 0
    filler_budget = max(chars - sum(len(f) + 1 for f in facts), 0)
    while size < filler_budget:
        line = " ".join(rng.choices(_WORDS, k=rng.randint(6, 14))).capitalize() + "."
        lines.append(line)
        size += len(line) + 1
    for fact in facts:
        lines.insert(rng.randrange(len(lines) + 1), fact)
    return LedgerTask(seed, chars, good, city, total, matching, "\n".join(lines) + "\n")


def count_crates(text: str, good: str, city: str) -> int:
    """The crates of ``good`` that reached ``city`` according to the records in ``text``."""
    total = 0
    for i, pattern in enumerate(_PATTERNS):
        for match in pattern.finditer(text):
            if i == 0:
                n, g, c = match.groups()
            elif i == 1:
                c, n, g = match.groups()
            else:
                g, n, c = match.groups()
            if g == good and c == city:
                total += int(n)
    return total


def ledger_answer(text: str) -> int | None:
    """The total a reader finds for the ledger question asked in ``text`` (None: no
    question there)."""
    asked = _QUESTION.search(text)
    if asked is None:
        return None
    return count_crates(text, asked.group(1), asked.group(2))


def _last_user_text(request: ChatRequest) -> str:
    user = [m for m in request.messages if isinstance(m, UserMessage)]
    return user[-1].text if user else ""


def ledger_reader(*, name: str = "ledger-reader") -> ScriptedModel:
    """A scripted sub-model that reads the ledger records in its prompt exactly and answers
    the ledger question asked there with one integer (``unknown`` when none is asked)."""

    def read(request: ChatRequest) -> str:
        found = ledger_answer(_last_user_text(request))
        return "unknown" if found is None else str(found)

    return ScriptedModel([read], name=name, when_exhausted="cycle")


_EXPLORE = """\
```python
print(type(context).__name__, len(context), context.count("\\n"), "lines")
print(context[:400])
```"""

_SUB_CALLS = """\
```python
import re
question = {question!r}
pieces, current = [], []
size = 0
for line in context.splitlines(keepends=True):
    if size + len(line) > {chunk} and current:
        pieces.append("".join(current))
        current, size = [], 0
    current.append(line)
    size += len(line)
if current:
    pieces.append("".join(current))
prompts = [
    f"{{question}} Count only the records in this text; reply with one integer.\\n\\n{{piece}}"
    for piece in pieces
]
replies = llm_query_batched(prompts)
counts = [int(re.findall(r"-?\\d+", r)[0]) if re.findall(r"-?\\d+", r) else 0 for r in replies]
total = sum(counts)
print(len(pieces), "pieces; counts:", counts[:10], "...; total", total)
```"""

_CODE = """\
```python
import re
good, city = {good!r}, {city!r}
patterns = [
    (r"Ledger \\d{{6}}: (\\d+) crates of ([a-z]+) reached ([A-Z][a-z]+)\\.", (0, 1, 2)),
    (r"([A-Z][a-z]+) took delivery of (\\d+) crates of ([a-z]+) \\(ledger \\d{{6}}\\)\\.", (1, 2, 0)),
    (r"Entry \\d{{6}} — ([a-z]+), (\\d+) crates, bound for ([A-Z][a-z]+), arrived\\.", (1, 0, 2)),
]
total = 0
for pattern, (n, g, c) in patterns:
    for m in re.finditer(pattern, context):
        if m.group(g + 1) == good and m.group(c + 1) == city:
            total += int(m.group(n + 1))
print("total", total)
```"""

_ANSWER = """\
```python
answer["content"] = total
answer["ready"] = True
```"""


def ledger_teacher(
    *,
    strategy: LedgerStrategy = "sub_calls",
    chunk_chars: int = 20_000,
    name: str = "ledger-teacher",
) -> ScriptedModel:
    """A scripted root model that solves ledger questions with correct RLM code, one block
    per turn: look at the context, then either split it into pieces of at most
    ``chunk_chars`` characters read by ``llm_query_batched`` (``strategy="sub_calls"``) or
    match the records with a regular expression (``"code"``), then set the answer.

    It reads the question from the task message and its turn from the conversation, so
    one teacher serves every task and every rollout.

    Raises:
        ConfigError: an unknown strategy, or ``chunk_chars`` below 1,000.
    """
    if strategy not in ("sub_calls", "code"):
        raise ConfigError(f"strategy must be 'sub_calls' or 'code', got {strategy!r}")
    if chunk_chars < 1_000:
        raise ConfigError(f"chunk_chars must be at least 1000, got {chunk_chars}")

    def write(request: ChatRequest) -> str:
        turn = sum(isinstance(m, AssistantMessage) for m in request.messages)
        if turn == 0:
            return _EXPLORE
        if turn == 1:
            asked = _QUESTION.search(_first_user_text(request.messages))
            if asked is None:
                return '```python\nprint("no ledger question")\n```'
            if strategy == "code":
                return _CODE.format(good=asked.group(1), city=asked.group(2))
            return _SUB_CALLS.format(question=asked.group(0), chunk=chunk_chars)
        return _ANSWER

    return ScriptedModel([write], name=name, when_exhausted="cycle")


def _first_user_text(messages: Sequence[AnyMessage]) -> str:
    return next((m.text for m in messages if isinstance(m, UserMessage)), "")


def ledger_reward() -> FunctionReward:
    """1.0 when an episode's answer is the task's total, else 0.0.

    The episode's ``task`` is a :meth:`LedgerTask.record` (it has ``answer``) and its
    ``output`` the program's result with an ``answer`` (an :class:`~hone.rlm.RLMResult`,
    or a dict); an answer given as text counts when its first integer is the total.
    """

    def score(episode: Episode) -> float | None:
        task, output = episode.task, episode.output
        if not isinstance(task, Mapping) or not isinstance(output, Mapping):
            return None  # not a ledger episode: no score, rather than a wrong 0
        return 1.0 if _as_int(output.get("answer")) == task.get("answer") else 0.0

    return reward_fn(score)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        found = re.search(r"-?\d+", value)
        return int(found.group(0)) if found else None
    return None
