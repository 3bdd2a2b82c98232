"""What a single-request episode recorded, token by token: enough to score or train it in one
forward pass.

Every token of the episode (prompt, model-written, runtime-written) keeps its index; what
pruning changes is *visibility*. Once a span is pruned, every later token stops seeing it,
and a pruned token never comes back, so one number per token says everything:
``hidden_from[i]``, the index of the first token that no longer sees token ``i`` (None: seen
to the end). Token ``j`` sees token ``i`` exactly when ``i <= j`` and
``(hidden_from[i] is None or j < hidden_from[i])``.

Positions are the original ("gap") ones: token ``i`` has position ``positions[i]``, also after
the tokens before it were pruned. Tokens generated before a prune attended to the pruned
span, so their keys and values still carry it; only a forward pass over the whole sequence
with this visibility and these positions reproduces what decoding computed (re-encoding the
pruned text does not). That is why positions are never reused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from hone.errors import ConfigError

__all__ = ["ThreadTrace", "TokenKind"]

#: Who wrote a token: the chat template ("prompt"), the model ("model": sampled or
#: teacher-forced, the tokens training learns), or the runtime ("forced": tool results,
#: problem notices, re-written text after a retraction).
TokenKind: TypeAlias = Literal["prompt", "model", "forced"]


@dataclass(frozen=True, slots=True)
class ThreadTrace:
    """Every token of one episode with who wrote it, its raw logprob (model tokens), its
    position id and when it left the working memory (see the module docstring)."""

    token_ids: tuple[int, ...]
    kinds: tuple[TokenKind, ...]
    #: Raw logprob at decoding (before temperature, filters and grammar) of model tokens;
    #: None for the others.
    logprobs: tuple[float | None, ...]
    positions: tuple[int, ...]
    hidden_from: tuple[int | None, ...]

    def __post_init__(self) -> None:
        n = len(self.token_ids)
        lengths = {len(self.kinds), len(self.logprobs), len(self.positions), len(self.hidden_from)}
        if lengths != {n}:
            raise ConfigError("a ThreadTrace's fields must all have one entry per token")

    def __len__(self) -> int:
        return len(self.token_ids)

    @property
    def prompt_length(self) -> int:
        """Tokens of the prompt (they come first)."""
        return next((i for i, k in enumerate(self.kinds) if k != "prompt"), len(self.kinds))

    def sees(self, query: int, key: int) -> bool:
        """Whether token ``query`` attends to token ``key``."""
        hidden = self.hidden_from[key]
        return key <= query and (hidden is None or query < hidden)

    def visible_at(self, query: int) -> list[int]:
        """The indexes token ``query`` attends to (its working memory, itself included)."""
        return [i for i in range(query + 1) if self.sees(query, i)]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "token_ids": list(self.token_ids),
            "kinds": list(self.kinds),
            "logprobs": list(self.logprobs),
            "positions": list(self.positions),
            "hidden_from": list(self.hidden_from),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ThreadTrace:
        """The trace :meth:`to_dict` wrote.

        Raises:
            ConfigError: a missing field, or fields of different lengths.
        """
        try:
            return cls(
                token_ids=tuple(int(t) for t in data["token_ids"]),
                kinds=tuple(data["kinds"]),
                logprobs=tuple(None if v is None else float(v) for v in data["logprobs"]),
                positions=tuple(int(p) for p in data["positions"]),
                hidden_from=tuple(None if h is None else int(h) for h in data["hidden_from"]),
            )
        except KeyError as exc:
            raise ConfigError(f"a ThreadTrace dict needs {exc.args[0]!r}") from exc
