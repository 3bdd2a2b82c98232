"""A local Hugging Face causal LM as a :class:`~hone.models.ModelBackend`.

This module owns the backend itself: loading, the generation lock, running batched
generations and streams, the kept KV states and the policy version completions record.

Prompts are rendered by the tokenizer's own chat template; many conversations are sampled in
one batched token loop (see ``_transformers_loop``); outputs are parsed by the parser the chat
template implies (Hermes/Qwen ``<tool_call>`` blocks unless it renders another format, see
``hone.parsing.detect_parser``), or the one given. Every completion carries the exact
prompt and sampled token ids and the raw per-token logprobs, which is what training needs.
Turning requests into token-loop rows and rows into completions is ``_transformers_rows``'s;
streamed tokens become deltas in ``_transformers_stream``.

``response_format`` and ``tool_choice`` are honoured by constrained decoding: each row of a
batch may follow its own grammar (``_grammar``), or none.

The KV states of finished rows are kept (``_prefix_cache``), so a conversation's next turn
encodes only the tokens its prompt adds after the longest kept token prefix.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from hone import _compute
from hone.errors import ChatTemplateError, ConfigError, ModelLoadError
from hone.models._chat import ChatSurface
from hone.models._grammar import GrammarEngine, TokenConstraint
from hone.models._kv_cache import supports_reuse
from hone.models._prefix_cache import PrefixCache, PrefixCacheStats, weights_fingerprint
from hone.models._protocol import ChatRequest, Completion, StreamEvent
from hone.models._transformers_loop import (
    RowSpec,
    SampledToken,
    SpecialIds,
    TokenCallback,
    generate_rows,
)
from hone.models._transformers_rows import RowCodec, special_ids
from hone.models._transformers_stream import DeltaDecoder, StreamStart
from hone.parsing import ParseFormat, Parser, detect_parser, resolve_parser

__all__ = ["TransformersModel"]

logger = logging.getLogger(__name__)

#: A policy version, or where to read it from (e.g. ``lambda: trainer.step``).
PolicyVersionSource = int | str | Callable[[], int | str | None] | None


class TransformersModel(ChatSurface):
    """A local causal LM (any ``AutoModelForCausalLM`` checkpoint, or a live, possibly peft,
    model being trained) behind the :class:`~hone.models.ModelBackend` protocol.

    Generation runs in a worker thread (the event loop stays free) and one generation runs at a
    time; concurrent callers should use :meth:`complete_batch` or wrap the model in
    :class:`~hone.models.BatchingModel`. Token ids and logprobs are always returned.

    The KV states of every finished conversation are kept (up to ``prefix_cache_tokens``
    tokens, least recently used dropped first), so the next call of a conversation that goes
    on (an agent's next turn) encodes only what its prompt adds after the longest kept *token*
    prefix; sampled ids and logprobs are those of encoding the whole prompt, up to float
    rounding. The kept states are dropped when the model's parameters change (a training step,
    ``load_state_dict``); after changing weights through ``param.data``, or switching LoRA
    adapters, call :meth:`clear_prefix_cache`.

    Args:
        model: A loaded causal LM.
        tokenizer: Its tokenizer; it must have a chat template.
        name: The name in logs and trajectories (default: the model's ``name_or_path``).
        max_context: Longest prompt + completion, in tokens (default: the model config's
            ``max_position_embeddings``).
        parser: How replies are parsed: a name from :func:`hone.parsing.parser_names` or a
            :class:`~hone.parsing.Parser` function. Default: the one the chat template
            implies (:func:`hone.parsing.detect_parser`; Hermes unless the template renders
            another tool-call format). :attr:`parser_name` says which was chosen.
        prefix_cache_tokens: The most tokens whose KV states are kept between calls (each
            costs ``2 × layers × kv_heads × head_dim`` values); 0 turns reuse off. Models
            with sliding-window or recurrent layers never reuse.
        policy_version: what every completion records as its ``policy_version``: a fixed
            value, or a function read at each generation (``policy_backend`` passes
            ``lambda: trainer.step``). Default: a counter of the weight changes this backend
            has seen (0 for the weights it started with, +1 each time a generation finds the
            parameters changed; :meth:`set_policy_version` overrides it).

    Raises:
        ChatTemplateError: the tokenizer has no chat template.
        ConfigError: ``parser`` is not a known name or a parser function, or
            ``prefix_cache_tokens`` is negative.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        name: str | None = None,
        max_context: int | None = None,
        parser: ParseFormat | Parser | None = None,
        prefix_cache_tokens: int = 32_768,
        policy_version: PolicyVersionSource = None,
    ) -> None:
        if prefix_cache_tokens < 0:
            raise ConfigError(
                f"prefix_cache_tokens must be >= 0 (0 turns KV reuse off), got {prefix_cache_tokens}"
            )
        if not getattr(tokenizer, "chat_template", None):
            raise ChatTemplateError(
                f"the tokenizer of {name or _name_of(model)!r} has no chat template; use a chat "
                "(instruct) checkpoint, or set tokenizer.chat_template to a Jinja template "
                "(hone.models.tiny.CHAT_TEMPLATE is a Qwen-style one) before loading"
            )
        self.model = model
        self.tokenizer = tokenizer
        self._name = name or _name_of(model)
        self.max_context = max_context or _context_of(model)
        self._ids = special_ids(model, tokenizer)
        self._parser_name, self._parser = resolve_parser(
            parser if parser is not None else detect_parser(tokenizer.chat_template)
        )
        self._rows = RowCodec(tokenizer, self._ids, name=self._name, parser=self._parser)
        self._grammars: GrammarEngine | None = None  # built on the first constrained request
        self._prefixes = PrefixCache(prefix_cache_tokens)
        self._reuse: bool | None = None if prefix_cache_tokens else False  # None: not checked
        self._lock = threading.Lock()
        self._version_source = policy_version
        self._weights_seen = 0  # weight changes seen (the default policy version)
        self._fingerprint = weights_fingerprint(model)  # version 0: the weights given

    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike[str],
        *,
        device: str = "cpu",
        dtype: Any = None,
        max_context: int | None = None,
        parser: ParseFormat | Parser | None = None,
        prefix_cache_tokens: int = 32_768,
    ) -> TransformersModel:
        """Load a causal LM and its tokenizer from a local directory.

        Args:
            path: A directory written by ``save_pretrained``.
            device: Torch device to run on (``"cpu"``, ``"cuda"``, ``"cuda:1"``...).
            dtype: Torch dtype or its name (``"bfloat16"``); default: as saved.
            max_context: Longest prompt + completion, in tokens.
            parser: How replies are parsed (default: detected from the chat template).
            prefix_cache_tokens: The most tokens whose KV states are kept between calls.

        Raises:
            ModelLoadError: the directory is missing or does not hold a loadable model.
            ChatTemplateError: the tokenizer has no chat template.
        """
        from transformers import AutoModelForCausalLM, AutoTokenizer

        directory = Path(path).expanduser()
        if not directory.is_dir():
            raise ModelLoadError(
                f"no model directory at {directory}; pass a directory written by save_pretrained "
                "(or use the spec 'tiny:' for the built-in tiny model)"
            )
        try:
            tokenizer = AutoTokenizer.from_pretrained(directory)
            model: Any = AutoModelForCausalLM.from_pretrained(directory, dtype=dtype or "auto")
        except (OSError, ValueError, KeyError) as exc:
            raise ModelLoadError(f"cannot load a causal LM from {directory}: {exc}") from exc
        model.to(device)
        model.eval()
        return cls(
            model,
            tokenizer,
            name=directory.name,
            max_context=max_context,
            parser=parser,
            prefix_cache_tokens=prefix_cache_tokens,
        )

    @property
    def name(self) -> str:
        """The model's name (directory name or ``name_or_path``)."""
        return self._name

    @property
    def parser_name(self) -> str:
        """The name of the parser replies go through (given, or detected from the template)."""
        return self._parser_name

    @property
    def special_ids(self) -> SpecialIds:
        """The padding, end-of-turn and reasoning-tag token ids the token loop uses."""
        return self._ids

    @property
    def prefix_cache_stats(self) -> PrefixCacheStats:
        """How much KV state was reused so far, and how much is kept now."""
        with self._lock:
            return self._prefixes.stats

    @property
    def policy_version(self) -> int | str | None:
        """The policy version the next completion will record (see ``policy_version=``)."""
        source = self._version_source
        if callable(source):
            return source()
        return source if source is not None else self._weights_seen

    def set_policy_version(self, version: PolicyVersionSource) -> None:
        """Record ``version`` (a value, or a function read at each generation) on later
        completions; ``None`` returns to counting weight changes."""
        self._version_source = version

    def _generation_version(self) -> int | str | None:
        """The version of this generation's weights (under the generation lock)."""
        fingerprint = weights_fingerprint(self.model)
        if fingerprint != self._fingerprint:
            self._weights_seen += 1
        self._fingerprint = fingerprint
        return self.policy_version

    def clear_prefix_cache(self) -> None:
        """Drop every kept KV state (needed only after weight changes torch cannot see, such as
        writes through ``param.data`` or switching LoRA adapters)."""
        with self._lock:
            self._prefixes.clear()

    def render(self, request: ChatRequest) -> str:
        """The prompt text the chat template makes of a request (with the generation prompt).

        With ``tool_choice="none"`` the tools are left out of the prompt.

        Raises:
            ChatTemplateError: the template cannot render these messages.
        """
        return self._rows.render(request)

    def encode_prompt(self, request: ChatRequest) -> list[int]:
        """The exact prompt token ids of a request."""
        ids = self.tokenizer(self.render(request), add_special_tokens=False)["input_ids"]
        return [int(i) for i in ids]

    async def complete(self, request: ChatRequest) -> Completion:
        """Complete one conversation."""
        return (await self.complete_batch([request]))[0]

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Complete many conversations in one batched generation (in a worker thread).

        Raises:
            ContextOverflowError: a prompt does not fit in the context window.
            ConfigError: a malformed ``response_format`` or ``tool_choice``.
            CapabilityError: a schema the grammar engine cannot compile, or llguidance (the
                ``structured`` extra) is not installed.
        """
        if not requests:
            return []
        return await _compute.acall(self.generate, requests)

    @_compute.compute_bound
    def generate(
        self,
        requests: Sequence[ChatRequest],
        *,
        on_token: TokenCallback | None = None,
        cancel: threading.Event | None = None,
        constraints: Sequence[TokenConstraint | None] | None = None,
        adapters: Sequence[str | None] | None = None,
    ) -> list[Completion]:
        """The synchronous core of :meth:`complete_batch` (blocks the calling thread).

        It runs on hone's compute thread (see :mod:`hone._compute`), like training steps.
        ``on_token(row, token_id)`` is called after every sampled token; setting ``cancel``
        stops the generation after the current step. ``constraints[i]``, when given, replaces
        the rule the request implies for row ``i`` (teacher forcing allows one token a step).
        ``adapters[i]``, for a peft model holding several LoRA adapters, names the adapter
        row ``i`` samples from (None: the base model); rows of different adapters share each
        forward pass. Such generations do not reuse kept KV states (they depend on the
        adapter).
        """
        if constraints is not None and len(constraints) != len(requests):
            raise ConfigError(
                f"{len(constraints)} constraints for {len(requests)} requests; give one each"
            )
        if adapters is not None and len(adapters) != len(requests):
            raise ConfigError(
                f"{len(adapters)} adapters for {len(requests)} requests; give one each"
            )
        with self._lock:  # one generation at a time; it also keeps the tokenizer single-threaded
            specs = [self._row_spec(r) for r in requests]
            if constraints is not None:
                specs = [replace(s, constraint=c) for s, c in zip(specs, constraints, strict=True)]
            return self._run(specs, requests, on_token=on_token, cancel=cancel, adapters=adapters)

    def _run(
        self,
        specs: Sequence[RowSpec],
        requests: Sequence[ChatRequest],
        *,
        on_token: TokenCallback | None = None,
        cancel: threading.Event | None = None,
        adapters: Sequence[str | None] | None = None,
    ) -> list[Completion]:
        import torch

        version = self._generation_version()
        reuse = self._reusing() and adapters is None
        names = None if adapters is None else [a or "__base__" for a in adapters]
        starts = [self._prefixes.lookup(s.prompt_ids) for s in specs] if reuse else []
        with torch.inference_mode(), _eval_mode(self.model):
            results = generate_rows(
                self.model,
                specs,
                self._ids,
                decode=self._rows.decode,
                on_token=on_token,
                cancel=cancel,
                starts=starts,
                keep_states=reuse,
                adapter_names=names,
            )
        for i, result in enumerate(results):
            if result.state is not None:
                self._prefixes.store(result.state, started_from=starts[i])
                result.state = None
        return [
            self._rows.completion(s, r, request=q, version=version)
            for s, r, q in zip(specs, results, requests, strict=True)
        ]

    def _reusing(self) -> bool:
        """Whether this generation reuses kept KV states (they are dropped first if the
        weights changed since the last one)."""
        if self._reuse is None:
            self._reuse = supports_reuse(self.model)
            if not self._reuse:
                logger.info("%r has sliding-window or recurrent layers: no KV reuse", self.name)
        if self._reuse:
            self._prefixes.sync(self.model)
        return self._reuse

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Complete one conversation, yielding reasoning/text deltas, then a ``done`` event."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[StreamStart | SampledToken | Completion | BaseException] = (
            asyncio.Queue()
        )
        cancel = threading.Event()

        def put(item: StreamStart | SampledToken | Completion | BaseException) -> None:
            if cancel.is_set():
                return  # the consumer stopped listening (its loop may be closed by now)
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop closed between the check and the call
                cancel.set()

        def on_token(_row: int, token: SampledToken) -> None:
            put(token)

        def work() -> None:
            try:
                with self._lock:
                    spec = self._row_spec(request)
                    put(StreamStart(spec.starts_in_think))
                    put(self._run([spec], [request], on_token=on_token, cancel=cancel)[0])
            except BaseException as exc:  # handed to the consumer, which re-raises it
                put(exc)

        _compute.submit(work)
        deltas: DeltaDecoder | None = None
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, Completion):
                    if deltas is not None and (tail := deltas.flush()) is not None:
                        yield tail
                    yield StreamEvent(kind="done", completion=item)
                    return
                if isinstance(item, StreamStart):
                    logprobs = self._rows.token_logprob if request.options.logprobs else None
                    deltas = DeltaDecoder(
                        self._rows.decode,
                        self._ids,
                        item.in_think,
                        logprobs,
                        self._rows.call_tags[0],
                    )
                elif deltas is not None and (event := deltas.push(item)) is not None:
                    yield event
        finally:
            cancel.set()

    def _grammar_engine(self) -> GrammarEngine:
        if self._grammars is None:
            config = getattr(self.model, "config", None)
            vocab = int(getattr(config, "vocab_size", 0) or len(self.tokenizer))
            self._grammars = GrammarEngine(
                self.tokenizer, vocab_size=vocab, end_of_turn=sorted(self._ids.end_of_turn)
            )
        return self._grammars

    def _row_spec(self, request: ChatRequest) -> RowSpec:
        return self._rows.spec(
            request,
            self.encode_prompt(request),
            max_context=self.max_context,
            grammars=self._grammar_engine,
        )


class _eval_mode:  # lower case: it reads like a function, `with _eval_mode(model):`
    """Switch a model to eval mode (no dropout) for generation, and back afterwards."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self._was_training = bool(getattr(model, "training", False))

    def __enter__(self) -> None:
        self._model.eval()

    def __exit__(self, *_: object) -> None:
        if self._was_training:
            self._model.train()


def _name_of(model: Any) -> str:
    config = getattr(model, "config", None)
    return str(getattr(config, "name_or_path", "") or type(model).__name__)


def _context_of(model: Any) -> int:
    config = getattr(model, "config", None)
    return int(getattr(config, "max_position_embeddings", 0) or 2048)
