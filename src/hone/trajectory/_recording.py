"""Recording model calls into the episode of the rollout that makes them.

A :class:`RecordingModel` wraps any backend. It asks for token ids and logprobs on every call
and appends each call to the *current recorder*, held in a :class:`contextvars.ContextVar`.
Each rollout runs in its own asyncio task, and tasks copy the context when created, so one
wrapper shared by many concurrent rollouts records every call into the right episode.

Seeds: a rollout may carry a seed. For every call whose ``options.seed`` is None, the wrapper
sets ``seed = derive_seed(rollout_seed, role, call_index)``, so a rollout's calls are seeded
deterministically and differently from each other (given the program makes its calls of one
role in a deterministic order). Calls with an explicit seed keep it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextvars import ContextVar
from typing import Any

from hone.errors import CapabilityError
from hone.interop._model import LangChainModel
from hone.messages import to_openai
from hone.models._chat import ChatSurface
from hone.models._protocol import ChatRequest, Completion, ModelBackend, StreamEvent
from hone.observability._rollouts import tag_episode_call
from hone.trajectory._context import current_rollout
from hone.trajectory._schema import EpisodeStatus, ModelCall, to_jsonable

__all__ = ["EpisodeRecorder", "RecordingModel", "current_recorder", "derive_seed", "recording"]

logger = logging.getLogger(__name__)

_SEED_MODULUS = 2**31  # fits every sampler's seed type (torch, numpy, vLLM)


def derive_seed(seed: int, *parts: object) -> int:
    """A seed derived deterministically from ``seed`` and ``parts`` (stable across runs and
    processes, unlike ``hash``), in ``[0, 2**31)``."""
    key = ":".join([str(seed), *(str(p) for p in parts)])
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % _SEED_MODULUS


class EpisodeRecorder:
    """Collects the model calls of one rollout, per role.

    Programs can also mark how their episode ended (:meth:`set_status`) and attach metadata.

    Args:
        seed: the rollout's seed; calls without a seed get one derived from it.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        #: Role -> its calls, in order.
        self.calls: dict[str, list[ModelCall]] = {}
        #: A status the program set, overriding ``ok``.
        self.status: EpisodeStatus | None = None
        #: Metadata the program attached.
        self.metadata: dict[str, Any] = {}

    def set_status(self, status: EpisodeStatus) -> None:
        """Mark how the episode ended (e.g. ``"max_steps"`` when a custom loop gives up)."""
        self.status = status

    def seed_for(self, role: str, index: int) -> int | None:
        """The seed of call ``index`` of ``role``, or None when the rollout is not seeded."""
        return None if self.seed is None else derive_seed(self.seed, role, index)

    def next_index(self, role: str) -> int:
        """The index the next call of ``role`` will get."""
        return len(self.calls.get(role, ()))

    def record(
        self, role: str, request: ChatRequest, completion: Completion, latency_s: float
    ) -> ModelCall:
        """Append one call of ``role`` and return its record."""
        calls = self.calls.setdefault(role, [])
        options = dataclasses.asdict(request.options)
        options["stop"] = list(request.options.stop)
        call = ModelCall(
            index=len(calls),
            role=role,
            model=completion.model,
            messages=[to_openai(m) for m in request.messages],
            tools=[to_jsonable(t) for t in request.tools],
            output=to_openai(completion.message),
            text=completion.text,
            prompt_token_ids=_list(completion.prompt_token_ids),
            token_ids=_list(completion.token_ids),
            logprobs=_list(completion.logprobs),
            finish_reason=completion.finish_reason,
            parse_errors=list(completion.parse_errors),
            sampling=options,
            latency_s=latency_s,
            usage={
                "prompt_tokens": completion.usage.prompt_tokens,
                "completion_tokens": completion.usage.completion_tokens,
            },
            policy_version=completion.policy_version,
        )
        calls.append(call)
        return call


def _list(values: Sequence[Any] | None) -> list[Any] | None:
    return None if values is None else list(values)


_RECORDER: ContextVar[EpisodeRecorder | None] = ContextVar("hone_episode_recorder", default=None)


def current_recorder() -> EpisodeRecorder | None:
    """The recorder of the rollout running in this context, if any."""
    return _RECORDER.get()


@contextlib.contextmanager
def recording(recorder: EpisodeRecorder) -> Iterator[EpisodeRecorder]:
    """Make ``recorder`` the current recorder inside the ``with`` block."""
    token = _RECORDER.set(recorder)
    try:
        yield recorder
    finally:
        _RECORDER.reset(token)


_NO_TOKEN_IDS = (
    "RecordingModel records model calls for RL, which needs the exact token ids and logprobs "
    "of every call, and {name!r} is a LangChain chat model, which gives none. For RL use a "
    "local model ('hf:<checkpoint>' or the built-in 'tiny:') or an OpenAI-compatible server "
    "that returns token ids (vLLM with return_token_ids, or `hone serve`). To record episodes "
    "for SFT data only (built from messages), pass RecordingModel(model, "
    "require_token_ids=False)."
)


def _langchain_inside(backend: Any) -> LangChainModel | None:
    """The LangChain model a chain of wrappers ends in, unless a wrapper on the way is a
    recording model that does not need token ids."""
    seen: set[int] = set()
    while backend is not None and id(backend) not in seen:
        seen.add(id(backend))
        if isinstance(backend, LangChainModel):
            return backend
        if isinstance(backend, RecordingModel) and not backend.require_token_ids:
            return None
        backend = getattr(backend, "backend", None)
    return None


class RecordingModel(ChatSurface):
    """A :class:`~hone.models.ModelBackend` wrapper that records every call into the current
    rollout's episode for ``role``.

    It forces ``return_token_ids=True`` and ``logprobs=True`` (training needs them) and seeds
    unseeded calls of a seeded rollout (see the module docs). Outside a rollout it only
    forwards calls. Keep it the outermost wrapper (around a
    :class:`~hone.models.BatchingModel`, not inside one): it must run in the caller's task to
    see the caller's recorder.

    Args:
        backend: the model to wrap.
        role: the agent role whose episode the calls belong to.
        require_token_ids: refuse, when wrapped, a backend that can never give token ids (a
            LangChain chat model): RL needs them. Pass False to record episodes for SFT data,
            which is built from messages.

    Raises:
        CapabilityError: ``require_token_ids`` and the backend is a LangChain chat model; the
            message names the alternatives.
    """

    def __init__(
        self, backend: ModelBackend, role: str = "agent", *, require_token_ids: bool = True
    ) -> None:
        self.backend = backend
        self.role = role
        self.require_token_ids = require_token_ids
        if require_token_ids:
            inner = _langchain_inside(backend)
            if inner is not None:
                raise CapabilityError(_NO_TOKEN_IDS.format(name=inner.name))

    @property
    def name(self) -> str:
        """The wrapped backend's name."""
        return self.backend.name

    def _prepare(self, request: ChatRequest, offset: int = 0) -> ChatRequest:
        options = request.options.with_(return_token_ids=True, logprobs=True)
        recorder = _RECORDER.get()
        if recorder is not None and options.seed is None:
            seed = recorder.seed_for(self.role, recorder.next_index(self.role) + offset)
            options = options.with_(seed=seed)
        return dataclasses.replace(request, options=options)

    def _record(self, request: ChatRequest, completion: Completion, latency_s: float) -> None:
        recorder = _RECORDER.get()
        if recorder is None:
            logger.debug("call of role %r made outside a rollout; not recorded", self.role)
            return
        call = recorder.record(self.role, request, completion, latency_s)
        tag_episode_call(current_rollout(), self.role, call.index)  # the call's span

    async def complete(self, request: ChatRequest) -> Completion:
        """Complete and record one conversation."""
        prepared = self._prepare(request)
        start = time.perf_counter()
        completion = await self.backend.complete(prepared)
        self._record(prepared, completion, time.perf_counter() - start)
        return completion

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Complete many conversations in one backend call; each is recorded (in order) with
        the batch's wall time as its latency."""
        prepared = [self._prepare(r, offset=i) for i, r in enumerate(requests)]
        start = time.perf_counter()
        completions = await self.backend.complete_batch(prepared)
        latency = time.perf_counter() - start
        for request, completion in zip(prepared, completions, strict=True):
            self._record(request, completion, latency)
        return completions

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream one conversation; the final completion is recorded."""
        prepared = self._prepare(request)
        start = time.perf_counter()
        async for event in self.backend.stream(prepared):
            if event.kind == "done" and event.completion is not None:
                self._record(prepared, event.completion, time.perf_counter() - start)
            yield event
