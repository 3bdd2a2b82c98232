"""Many LoRA adapters over one base model (the LoRAX pattern), for ``hone serve``.

Adapters are *registered* by name and folder (``POST /v1/load_lora_adapter``, or ``--lora
name=path`` at start) and their weights are loaded into the one base model on demand, when a
request first names them; at most ``max_loaded`` stay loaded, the least recently used is
dropped first (it stays registered and loads again when asked for). Requests for different
adapters, and for the base, that arrive together are sampled in one batched generation: peft
applies each row's own adapter inside the same forward pass (``adapter_names=``). Token ids
and logprobs are those of the adapter's model, exactly as a merged copy would give them, up
to float rounding.

Everything that touches the weights (loading, unloading, generating) runs on hone's one
compute thread, so a load never lands in the middle of a generation.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from hone import _compute
from hone.errors import ConfigError, ModelLoadError, ModelNotFoundError
from hone.models._batching import BatchingModel
from hone.models._chat import ChatSurface
from hone.models._protocol import ChatRequest, Completion, StreamEvent
from hone.models._transformers import TransformersModel

__all__ = ["AdapterPool", "AdapterStats"]

logger = logging.getLogger(__name__)

_BASE = "__base__"  # peft's name for "no adapter" in adapter_names


@dataclass(frozen=True, slots=True)
class _AdapterRequest(ChatRequest):
    """A request tagged with the adapter it samples from (None: the base model)."""

    adapter: str | None = None


@dataclass(frozen=True, slots=True)
class AdapterStats:
    """What an :class:`AdapterPool` holds and did.

    Attributes:
        registered: adapter names that can be requested.
        loaded: names whose weights are in memory, least recently used first.
        loads, evictions: weight loads (on demand) and LRU drops so far.
        generations: batched generations run (requests of several adapters share one).
    """

    registered: tuple[str, ...]
    loaded: tuple[str, ...]
    loads: int
    evictions: int
    generations: int


class AdapterPool:
    """LoRA adapters served over one base :class:`~hone.models.TransformersModel`.

    Args:
        base: the base model; its weights are shared by every adapter. Its prefix cache is
            not used once an adapter is loaded (kept KV states depend on the adapter).
        max_loaded: adapters kept in memory at once (LRU); at least 1.
        max_batch, max_wait_ms: how concurrent requests are gathered into one generation
            (see :class:`~hone.models.BatchingModel`).

    Raises:
        ConfigError: ``max_loaded`` < 1, or ``base`` is already a peft model.
    """

    def __init__(
        self,
        base: TransformersModel,
        *,
        max_loaded: int = 8,
        max_batch: int = 64,
        max_wait_ms: float = 5.0,
    ) -> None:
        if max_loaded < 1:
            raise ConfigError(f"max_loaded={max_loaded} must be >= 1")
        if hasattr(base.model, "peft_config"):
            raise ConfigError(
                "the base model already carries peft adapters; serve the plain base model and "
                "register adapters with load_lora_adapter (or merge them first)"
            )
        self.base = base
        self.max_loaded = max_loaded
        self._paths: dict[str, Path] = {}
        self._loaded: OrderedDict[str, None] = OrderedDict()  # least recently used first
        # peft's own names: a user's name could be a substring of peft's "lora_" prefix,
        # which peft mistakes for a parameter name ("a", "lora", ...).
        self._peft_names: dict[str, str] = {}
        self._next_id = 0
        self._peft: Any = None  # the PeftModel, once an adapter was loaded
        self._loads = 0
        self._evictions = 0
        self._generations = 0
        self._batcher = BatchingModel(
            _MixedBatches(self), max_batch=max_batch, max_wait_ms=max_wait_ms
        )

    @property
    def stats(self) -> AdapterStats:
        """Registered and loaded adapters, and counts."""
        return AdapterStats(
            registered=tuple(self._paths),
            loaded=tuple(self._loaded),
            loads=self._loads,
            evictions=self._evictions,
            generations=self._generations,
        )

    def names(self) -> list[str]:
        """The registered adapter names."""
        return list(self._paths)

    async def register(
        self, name: str, path: str | Path, *, replace_existing: bool = False
    ) -> None:
        """Register adapter ``name`` at ``path`` and load it at once, so a bad folder fails
        here rather than at the first request (vLLM's ``load_lora_adapter``).

        Raises:
            ConfigError: ``name`` is registered already (and not ``replace_existing``) or is
                reserved.
            ModelLoadError: ``path`` holds no loadable adapter for this base model.
        """
        if name == _BASE:
            raise ConfigError(f"{_BASE!r} is reserved for the base model")
        if name in self._paths and not replace_existing:
            raise ConfigError(
                f"adapter {name!r} is already loaded; unload it first, or load in place"
            )
        folder = Path(path).expanduser()
        if not (folder / "adapter_config.json").is_file():
            raise ModelLoadError(
                f"no LoRA adapter at {folder}: it has no adapter_config.json (save one with "
                "peft's save_pretrained)"
            )
        await _compute.acall(self._load_now, name, folder, replace_existing)
        self._paths[name] = folder

    async def unregister(self, name: str) -> None:
        """Forget adapter ``name`` and free its weights.

        Raises:
            ModelNotFoundError: no adapter of that name is registered.
        """
        if name not in self._paths:
            raise ModelNotFoundError(self._unknown(name))
        del self._paths[name]
        if name in self._loaded:
            await _compute.acall(self._drop, name)

    def backend(self, adapter: str | None) -> _AdapterView:
        """A model backend that samples from ``adapter`` (None: the base model).

        Raises:
            ModelNotFoundError: ``adapter`` is not registered.
        """
        if adapter is not None and adapter not in self._paths:
            raise ModelNotFoundError(self._unknown(adapter))
        return _AdapterView(self, adapter)

    def _unknown(self, name: str) -> str:
        known = ", ".join(self._paths) or "none"
        return f"no LoRA adapter named {name!r} is loaded (loaded: {known})"

    # ---------------------------------------------------------------- on the compute thread

    def _load_now(self, name: str, folder: Path, replace_existing: bool) -> None:
        if replace_existing and name in self._loaded:
            self._drop(name)
        self._ensure([name], keep=set(), folders={name: folder})

    def _ensure(
        self, names: Sequence[str], *, keep: set[str], folders: dict[str, Path] | None = None
    ) -> None:
        """Load every adapter of ``names`` not in memory, evicting the least recently used
        ones not in ``keep`` to stay within ``max_loaded``."""
        paths = {**self._paths, **(folders or {})}
        for name in names:
            if name in self._loaded:
                self._loaded.move_to_end(name)
                continue
            # Load first, evict after: peft's model must never be left without an adapter.
            self._load_weights(name, paths[name])
            self._loaded[name] = None
            self._loads += 1
            while len(self._loaded) > self.max_loaded:
                victim = next((n for n in self._loaded if n not in keep and n != name), None)
                if victim is None:
                    break  # every loaded adapter is in this batch: go over the bound for it
                self._drop(victim)
                self._evictions += 1

    def _load_weights(self, name: str, folder: Path) -> None:
        import peft

        internal = f"adapter{self._next_id}"
        self._next_id += 1
        try:
            if self._peft is None:
                self._peft = peft.PeftModel.from_pretrained(
                    self.base.model, str(folder), adapter_name=internal
                )
                self._peft.eval()
                # Every request now goes through the pool with explicit adapter names.
                self.base.model = self._peft
            else:
                self._peft.load_adapter(str(folder), adapter_name=internal)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ModelLoadError(
                f"cannot load the LoRA adapter at {folder} onto {self.base.name!r}: {exc}"
            ) from exc
        self._peft_names[name] = internal
        self.base.clear_prefix_cache()
        logger.info("loaded adapter %s from %s", name, folder)

    def _drop(self, name: str) -> None:
        self._loaded.pop(name, None)
        internal = self._peft_names.pop(name, None)
        if self._peft is None or internal not in self._peft.peft_config:
            return
        if len(self._peft.peft_config) == 1:  # the last one: back to the plain base model
            self.base.model = self._peft.unload()
            self._peft = None
        else:
            with warnings.catch_warnings():  # "was active ... now deleted": expected here
                warnings.filterwarnings("ignore", message=".*now deleted", category=UserWarning)
                self._peft.delete_adapter(internal)
            if self._peft.active_adapter not in self._peft.peft_config:
                self._peft.set_adapter(next(iter(self._peft.peft_config)))
        self.base.clear_prefix_cache()
        logger.info("unloaded adapter %s", name)

    def _generate(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        adapters = [getattr(r, "adapter", None) for r in requests]
        wanted = list(dict.fromkeys(a for a in adapters if a is not None))
        paths = dict(self._paths)  # one snapshot: the event loop may unregister meanwhile
        missing = [a for a in wanted if a not in paths]
        if missing:
            raise ModelNotFoundError(self._unknown(missing[0]))
        self._ensure(wanted, keep=set(wanted), folders=paths)
        self._generations += 1
        if self._peft is None:  # no adapter ever loaded: the plain base model
            return self.base.generate(requests)
        plain = [_plain(r) for r in requests]
        internal = [self._peft_names[a] if a is not None else None for a in adapters]
        results = self.base.generate(plain, adapters=internal)
        return [
            replace(c, model=a or self.base.name, policy_version=a or c.policy_version)
            for c, a in zip(results, adapters, strict=True)
        ]


def _plain(request: ChatRequest) -> ChatRequest:
    """The request without its adapter tag."""
    if type(request) is ChatRequest:
        return request
    return ChatRequest(**{f.name: getattr(request, f.name) for f in fields(ChatRequest)})


class _MixedBatches:
    """The backend :class:`BatchingModel` batches into: one generation, mixed adapters."""

    def __init__(self, pool: AdapterPool) -> None:
        self.pool = pool

    @property
    def name(self) -> str:
        return self.pool.base.name

    async def complete(self, request: ChatRequest) -> Completion:
        return (await self.complete_batch([request]))[0]

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        return await _compute.acall(self.pool._generate, requests)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        completion = await self.complete(request)
        if completion.text:
            yield StreamEvent(kind="text", delta=completion.text)
        yield StreamEvent(kind="done", completion=completion)


class _AdapterView(ChatSurface):
    """One adapter of a pool as a :class:`~hone.models.ModelBackend`."""

    def __init__(self, pool: AdapterPool, adapter: str | None) -> None:
        self.pool, self.adapter = pool, adapter

    @property
    def name(self) -> str:
        return self.adapter or self.pool.base.name

    def _tag(self, request: ChatRequest) -> _AdapterRequest:
        values = {f.name: getattr(request, f.name) for f in fields(ChatRequest)}
        return _AdapterRequest(**values, adapter=self.adapter)

    async def complete(self, request: ChatRequest) -> Completion:
        return await self.pool._batcher.complete(self._tag(request))

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        return list(await asyncio.gather(*(self.complete(r) for r in requests)))

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        if self.adapter is None and self.pool._peft is None:
            async for event in self.pool.base.stream(request):  # token by token
                yield event
            return
        # Adapter rows are generated in mixed batches; the reply arrives in one piece.
        completion = await self.complete(request)
        if completion.text:
            yield StreamEvent(kind="text", delta=completion.text)
        yield StreamEvent(kind="done", completion=completion)
