"""The trajectory schema: one :class:`Episode` per agent role per rollout, made of
:class:`ModelCall` records.

Everything is plain data that round-trips through JSON (:meth:`Episode.to_dict` /
:meth:`Episode.from_dict`). Messages are stored in the OpenAI chat format, token ids and
logprobs exactly as the backend returned them (token in, token out: training never
re-tokenises messages).

Schema version history:

* 1 — the first version.
* 2 — ``Episode.stop_reason``: why the agent stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, get_args

from hone.agent import StopReason
from hone.errors import TrajectoryError, TrajectoryVersionError
from hone.messages import new_id
from hone.trajectory._tokens import token_ids_problem

__all__ = [
    "TRAJECTORY_VERSION",
    "Episode",
    "EpisodeStatus",
    "ModelCall",
    "task_id_of",
    "to_jsonable",
]

#: The version of the schema this hone writes; it reads this version and older ones.
TRAJECTORY_VERSION = 2

#: How an episode ended: ``ok`` (the program returned), ``error`` (it raised),
#: ``context_overflow`` (a prompt no longer fit the context window), ``max_steps`` (the step
#: budget or recursion limit was reached).
EpisodeStatus: TypeAlias = Literal["ok", "error", "context_overflow", "max_steps"]
_STATUSES: frozenset[str] = frozenset(get_args(EpisodeStatus))
_STOP_REASONS: frozenset[str] = frozenset(get_args(StopReason))


def to_jsonable(value: Any) -> Any:
    """``value`` as JSON data: pydantic models and dataclasses are dumped, mappings and
    sequences converted item by item, anything else unknown becomes its ``repr``."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return to_jsonable(dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    return repr(value)


def task_id_of(task: Any) -> str:
    """A task's id: its ``"id"``/``"task_id"`` key or ``id`` attribute when it has one, else
    a stable hash of its JSON form (so the same task always gets the same id)."""
    if isinstance(task, Mapping):
        for key in ("id", "task_id"):
            if task.get(key) is not None:
                return str(task[key])
    else:
        for attr in ("id", "task_id"):
            found = getattr(task, attr, None)
            if isinstance(found, str | int):
                return str(found)
    payload = json.dumps(to_jsonable(task), sort_keys=True, ensure_ascii=False)
    return "task-" + hashlib.sha256(payload.encode()).hexdigest()[:12]


def _text(content: Any) -> str:
    """The text of an OpenAI-format ``content`` (a string, a list of parts, or None)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _argument(call: Mapping[str, Any]) -> str:
    """A tool call's only argument value as text, else its arguments as JSON text."""
    raw = (call.get("function") or {}).get("arguments") or ""
    try:
        arguments = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return str(raw)
    if isinstance(arguments, dict) and len(arguments) == 1:
        value = next(iter(arguments.values()))
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return raw if isinstance(raw, str) else json.dumps(arguments, ensure_ascii=False)


@dataclass(slots=True)
class ModelCall:
    """One model call made during a rollout, with everything needed to train on it.

    Attributes:
        index: position of the call within its episode (0, 1, ...).
        role: the agent role that made the call.
        model: the backend's model name.
        messages: the input messages, OpenAI chat format.
        tools: the tool specs offered (OpenAI function format).
        output: the parsed assistant message, OpenAI chat format.
        text: the raw generated text, before parsing.
        prompt_token_ids: the exact prompt token ids, or None if the backend gave none.
        token_ids: the sampled token ids. (len(token_ids),)
        logprobs: the sampling log-prob of each sampled token. (len(token_ids),)
        finish_reason: why generation stopped (``stop``, ``length``, ``tool_calls``, ...).
        parse_errors: tool-call parse failures, as shown to the model.
        sampling: the sampling options actually used (temperature, seed, ...).
        reward: an optional per-turn reward.
        latency_s: wall time of the call in seconds.
        usage: token counts (``prompt_tokens``, ``completion_tokens``).
        policy_version: the version of the policy that generated the call, when known.
    """

    index: int
    role: str
    model: str
    messages: list[dict[str, Any]]
    output: dict[str, Any]
    tools: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""
    prompt_token_ids: list[int] | None = None
    token_ids: list[int] | None = None
    logprobs: list[float] | None = None
    finish_reason: str = "stop"
    parse_errors: list[str] = field(default_factory=list)
    sampling: dict[str, Any] = field(default_factory=dict)
    reward: float | None = None
    latency_s: float = 0.0
    usage: dict[str, int] = field(default_factory=dict)
    policy_version: int | str | None = None

    @property
    def has_tokens(self) -> bool:
        """Whether the call carries prompt ids, sampled ids and one logprob per sampled id
        (see :func:`~hone.trajectory.require_token_ids`)."""
        return token_ids_problem(self) is None

    def to_dict(self) -> dict[str, Any]:
        """The call as JSON data."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelCall:
        """A call from :meth:`to_dict` output.

        Raises:
            TrajectoryError: a required field is missing or a field is unknown.
        """
        try:
            return cls(**data)
        except TypeError as exc:
            raise TrajectoryError(f"invalid model call record: {exc}") from exc


@dataclass(slots=True)
class Episode:
    """What one agent role did in one rollout of one task, and how it was rewarded.

    Attributes:
        task_id: the task's id (see :func:`task_id_of`).
        task: the task payload, as JSON data.
        role: the agent role (``"agent"`` for single-role programs).
        calls: the role's model calls, in order.
        messages: the final conversation, OpenAI chat format.
        output: the program's result as JSON data; for a program that returns its message
            history, the final assistant text.
        reward: the scalar reward, or None when unscored or when scoring failed.
        reward_components: named parts of the reward (for logging).
        reward_explanation: why the reward is what it is (a judge's words), if given.
        reward_error: why scoring failed, when ``reward`` is None after scoring.
        status: how the episode ended (see :data:`EpisodeStatus`).
        stop_reason: why its agent stopped, as the agent loop reported it
            (:data:`~hone.agent.StopReason`: ``answered``, ``truncated``, ``stop_tool``,
            ``step_budget``, ``error``, ``context_overflow``); None when the program ran no
            agent loop that said (a single model call, say).
        error: the exception text when ``status`` is not ``ok``.
        group_id: the group (several rollouts of one task) this episode belongs to.
        seed: the rollout's seed, if seeded.
        metadata: free-form JSON data.
        id: unique episode id.
        created_at: Unix time of creation.
        version: the schema version the episode was written with.
    """

    task_id: str
    task: Any = None
    role: str = "agent"
    calls: list[ModelCall] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    output: Any = None
    reward: float | None = None
    reward_components: dict[str, float] = field(default_factory=dict)
    reward_explanation: str | None = None
    reward_error: str | None = None
    status: EpisodeStatus = "ok"
    stop_reason: StopReason | None = None
    error: str | None = None
    group_id: str | None = None
    seed: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: new_id("ep_"))
    created_at: float = field(default_factory=time.time)
    version: int = TRAJECTORY_VERSION

    @property
    def final_text(self) -> str:
        """The text of the last assistant message ('' when there is none; an agent that ends
        with a stop tool has none: see :attr:`final_answer`)."""
        for message in reversed(self.messages or self._last_call_messages()):
            if message.get("role") == "assistant":
                return _text(message.get("content"))
        return ""

    @property
    def final_answer(self) -> str:
        """The agent's answer: the last assistant message's text or, when that message has
        no text and the run ended on its tool calls (an agent that answers with a stop tool
        such as ``answer(value=...)``), its last tool call's argument: the value when the call
        has exactly one argument, else the arguments as JSON. '' when there is neither."""
        messages = self.transcript()
        last = next(
            (i for i in range(len(messages) - 1, -1, -1) if messages[i].get("role") == "assistant"),
            None,
        )
        if last is None:
            return ""
        message = messages[last]
        text = _text(message.get("content"))
        calls = message.get("tool_calls") or []
        ended_on_calls = all(m.get("role") == "tool" for m in messages[last + 1 :])
        if text or not calls or not ended_on_calls:
            return text
        return _argument(calls[-1])

    @property
    def num_parse_errors(self) -> int:
        """Parse errors over all calls."""
        return sum(len(call.parse_errors) for call in self.calls)

    @property
    def tool_errors(self) -> int:
        """Tool results in :attr:`messages` that were errors (``is_error``)."""
        return sum(bool(m.get("role") == "tool" and m.get("is_error")) for m in self.messages)

    def transcript(self) -> list[dict[str, Any]]:
        """The conversation: :attr:`messages`, or the last call's input plus its output."""
        return list(self.messages) if self.messages else self._last_call_messages()

    def _last_call_messages(self) -> list[dict[str, Any]]:
        if not self.calls:
            return []
        last = self.calls[-1]
        return [*last.messages, last.output]

    def to_dict(self) -> dict[str, Any]:
        """The episode as JSON data (``json.dumps`` accepts it)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["calls"] = [call.to_dict() for call in self.calls]
        data["task"] = to_jsonable(self.task)
        data["output"] = to_jsonable(self.output)
        data["metadata"] = to_jsonable(self.metadata)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Episode:
        """An episode from :meth:`to_dict` output (of this or an older schema version).

        Raises:
            TrajectoryVersionError: the data was written by a newer schema version.
            TrajectoryError: the data is not a valid episode.
        """
        if not isinstance(data, Mapping):
            raise TrajectoryError(f"an episode must be a JSON object, got {type(data).__name__}")
        version = data.get("version")
        if not isinstance(version, int):
            raise TrajectoryError("episode data has no integer 'version' field")
        if version > TRAJECTORY_VERSION:
            raise TrajectoryVersionError(
                f"episode {data.get('id')!r} was written with trajectory schema version {version}, "
                f"but this hone reads versions up to {TRAJECTORY_VERSION}; upgrade hone to read it"
            )
        fields = dict(data)
        if fields.get("status") not in _STATUSES:
            raise TrajectoryError(f"unknown episode status {fields.get('status')!r}")
        if fields.get("stop_reason") not in (None, *_STOP_REASONS):
            raise TrajectoryError(f"unknown episode stop reason {fields.get('stop_reason')!r}")
        calls = fields.pop("calls", [])
        try:
            episode = cls(**fields)
        except TypeError as exc:
            raise TrajectoryError(f"invalid episode record: {exc}") from exc
        episode.calls = [ModelCall.from_dict(call) for call in calls]
        return episode

    def to_json(self) -> str:
        """The episode as one line of JSON."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Episode:
        """An episode from :meth:`to_json` output.

        Raises:
            TrajectoryError: the text is not JSON or not an episode.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TrajectoryError(f"episode JSON cannot be decoded: {exc}") from exc
        return cls.from_dict(data)
