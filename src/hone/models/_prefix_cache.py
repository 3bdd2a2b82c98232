"""KV states kept between calls, so a conversation's next turn encodes only its new tokens.

An agent's turn ``k + 1`` renders a prompt that starts with turn ``k``'s prompt and reply; a
local backend that re-encoded it all would redo, at every call, the attention keys and values
(KV) it computed at the previous one. :class:`PrefixCache` keeps the KV states of finished rows
(prompt + sampled tokens) and, for a new prompt, finds the kept sequence that shares the longest
*token* prefix with it. No caller id is needed: the token prefix identifies the conversation,
and a prompt that re-renders earlier turns differently simply matches less (down to nothing,
and then it is encoded in full).

Lookup walks chained hashes of 16-token blocks (a hash per block, covering all the blocks
before it), so it costs O(prompt length), not O(entries); the match is then checked token by
token. Memory is bounded by ``max_tokens``: the least recently used entries go first, and an
entry a continuation covers entirely is dropped when the continuation is kept.

KV states depend on the weights, so :meth:`PrefixCache.sync` drops everything once any
parameter changed (an optimizer step, ``load_state_dict``): a training loop can keep sampling
from its live policy without serving stale states.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

__all__ = ["PrefixCache", "PrefixCacheStats", "PrefixState", "Reuse", "weights_fingerprint"]

logger = logging.getLogger(__name__)

#: Tokens per hashed block. Prefixes shorter than one block are not worth looking up.
BLOCK = 16


@dataclass(frozen=True, slots=True)
class PrefixState:
    """The KV states of a token sequence, one (keys, values) pair per layer.

    ``keys[l]`` and ``values[l]`` are (kv_heads, len(tokens), head_dim) tensors.
    """

    tokens: tuple[int, ...]
    keys: tuple[torch.Tensor, ...]
    values: tuple[torch.Tensor, ...]


@dataclass(frozen=True, slots=True)
class Reuse:
    """A row starts from the first ``length`` tokens of a kept ``state``."""

    state: PrefixState
    length: int


@dataclass(frozen=True, slots=True)
class PrefixCacheStats:
    """What a backend's prefix cache did so far (see ``TransformersModel.prefix_cache_stats``).

    ``reused_tokens / prompt_tokens`` is the share of prompt tokens that were not encoded again.
    """

    #: Prompts looked up.
    lookups: int = 0
    #: Prompts that started from a kept state.
    hits: int = 0
    #: Tokens of all prompts looked up.
    prompt_tokens: int = 0
    #: Prompt tokens whose KV states were reused rather than computed.
    reused_tokens: int = 0
    #: Sequences kept now, and their tokens.
    entries: int = 0
    tokens: int = 0
    #: Entries dropped to stay under the token budget.
    evicted: int = 0
    #: Times the whole cache was dropped because the weights changed (or on request).
    cleared: int = 0

    @property
    def reuse_rate(self) -> float:
        """The share of prompt tokens that were reused (0 before any lookup)."""
        return self.reused_tokens / self.prompt_tokens if self.prompt_tokens else 0.0


@dataclass(slots=True)
class _Counters:
    lookups: int = 0
    hits: int = 0
    prompt_tokens: int = 0
    reused_tokens: int = 0
    evicted: int = 0
    cleared: int = 0


class PrefixCache:
    """An LRU of :class:`PrefixState` entries, looked up by longest common token prefix.

    Not thread-safe: the backend uses it under its generation lock.

    Args:
        max_tokens: the most tokens kept over all entries.
    """

    def __init__(self, max_tokens: int) -> None:
        self.max_tokens = max_tokens
        self._entries: OrderedDict[int, PrefixState] = OrderedDict()  # oldest first
        self._keys: dict[int, int] = {}  # id(state) -> its key in _entries
        self._index: dict[int, set[int]] = {}  # block hash -> entries holding that prefix
        self._next_id = 0
        self._tokens = 0
        self._fingerprint: int | None = None
        self._counters = _Counters()

    @property
    def stats(self) -> PrefixCacheStats:
        """Counters so far, with the current size."""
        return PrefixCacheStats(
            **asdict(self._counters), entries=len(self._entries), tokens=self._tokens
        )

    def sync(self, model: Any) -> None:
        """Drop every entry if ``model``'s parameters changed since the last call."""
        fingerprint = weights_fingerprint(model)
        if self._fingerprint is not None and fingerprint != self._fingerprint and self._entries:
            logger.debug("the weights changed; dropping %d cached prefixes", len(self._entries))
            self.clear()
        self._fingerprint = fingerprint

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()
        self._keys.clear()
        self._index.clear()
        self._tokens = 0
        self._counters.cleared += 1

    def lookup(self, prompt: Sequence[int]) -> Reuse | None:
        """The kept state sharing the longest token prefix with ``prompt``, if any.

        At most ``len(prompt) - 1`` tokens are reused: the last prompt token must go through
        the model to give the first sampled token's logits.
        """
        prompt = tuple(prompt)
        found = self._best(prompt)
        reuse = None
        if found is not None:
            entry, common = found
            length = min(common, len(prompt) - 1)
            if length >= BLOCK:
                self._entries.move_to_end(entry)
                reuse = Reuse(self._entries[entry], length)
        counters = self._counters
        counters.lookups += 1
        counters.prompt_tokens += len(prompt)
        if reuse is not None:
            counters.hits += 1
            counters.reused_tokens += reuse.length
        return reuse

    def store(self, state: PrefixState, *, started_from: Reuse | None = None) -> None:
        """Keep ``state``; the entry it ``started_from`` goes if ``state`` covers it entirely."""
        if started_from is not None and started_from.length == len(started_from.state.tokens):
            covered = self._keys.get(id(started_from.state))
            if covered is not None:
                self._drop(covered)
        if len(state.tokens) < BLOCK or len(state.tokens) > self.max_tokens:
            return
        key = self._next_id
        self._next_id += 1
        self._entries[key] = state
        self._keys[id(state)] = key
        self._tokens += len(state.tokens)
        for block in _block_hashes(state.tokens):
            self._index.setdefault(block, set()).add(key)
        while self._tokens > self.max_tokens:
            oldest = next(iter(self._entries))
            self._drop(oldest)
            self._counters.evicted += 1

    def _best(self, prompt: tuple[int, ...]) -> tuple[int, int] | None:
        """(entry, common prefix length) of the best match, or None."""
        candidates: set[int] = set()
        depth = 0
        for block in _block_hashes(prompt):
            holders = self._index.get(block)
            if not holders:
                break
            candidates, depth = holders, depth + 1
        best: tuple[int, int] | None = None
        checked = depth * BLOCK
        for entry in candidates:
            tokens = self._entries[entry].tokens
            if tokens[:checked] != prompt[:checked]:
                continue  # a hash collision
            common = checked
            limit = min(len(tokens), len(prompt))
            while common < limit and tokens[common] == prompt[common]:
                common += 1
            if best is None or common > best[1]:
                best = (entry, common)
        return best

    def _drop(self, key: int) -> None:
        state = self._entries.pop(key)
        del self._keys[id(state)]
        self._tokens -= len(state.tokens)
        for block in _block_hashes(state.tokens):
            holders = self._index.get(block)
            if holders is not None:
                holders.discard(key)
                if not holders:
                    del self._index[block]


def _block_hashes(tokens: tuple[int, ...]) -> list[int]:
    """One hash per full block of ``tokens``, each covering every token up to its block's end."""
    hashes = []
    running = 0
    for start in range(0, len(tokens) - BLOCK + 1, BLOCK):
        running = hash((running, tokens[start : start + BLOCK]))
        hashes.append(running)
    return hashes


def weights_fingerprint(model: Any) -> int:
    """A number that changes when any parameter of ``model`` is modified in place (optimizer
    steps, ``copy_``, ``load_state_dict``) or replaced.

    It reads torch's per-tensor version counters, which writes through ``param.data`` bypass;
    after such writes, clear the cache by hand.
    """
    return hash(tuple((p.data_ptr(), p._version) for p in model.parameters()))
