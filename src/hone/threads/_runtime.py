"""The single-request runtime: each thread is one decoding request on a local model.

A batch of episodes is prefilled once; then every step feeds each row its next tokens: the
token the model just wrote, or a chunk the runtime writes (a tool result, a problem notice),
or nothing while the row's tool runs. When a token closes a tool use's ``parameters``, the
row pauses, the tool runs (the async shell in ``_run``), and ``, "tool_result": "..."}`` is
appended to the cache as tokens: the prefix is never encoded again, so tokens processed grow
linearly with tool calls.

Pruning happens in the cache (``_kv``): when a subtask list closes and the rule drops the
oldest list's internals, their columns are masked before the next token is fed; once
``compact_after`` columns are dead the cache is compacted. Every token keeps its trace index
as its position id. Each row records a :class:`~hone.threads.ThreadTrace`.

A problem in the tree (``_episode``) is cut back: the tokens from the one holding the error
on are hidden (the part of that token before the error is written again by the runtime), and
the problem is shown to the model as a user turn (the chat template's turn break), after
which the model writes on from where the thread stopped.

The core (:class:`ThreadBatch`) is synchronous and runs on hone's compute thread; the shell
that runs tools concurrently is in ``_run``.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from hone.errors import ConfigError
from hone.messages import AnyMessage, AssistantMessage, UserMessage
from hone.models._grammar import GrammarEngine, TokenConstraint
from hone.models._protocol import ChatRequest
from hone.models._transformers_loop import RowSpec, StepRow, sample_step
from hone.threads._episode import ThreadEpisode, ThreadStop, notice_text
from hone.threads._events import Span, ThreadError, ToolCallReady
from hone.threads._kv import PrunableCache
from hone.threads._options import ThreadOptions, ThreadResult, ThreadStats
from hone.threads._schema import ThreadSchema
from hone.threads._teacher import Teacher
from hone.threads._trace import ThreadTrace, TokenKind

if TYPE_CHECKING:
    from hone.models._transformers import TransformersModel

__all__ = ["ThreadBatch", "ToolRequest"]

logger = logging.getLogger(__name__)

#: (episode index, the tool call it waits on).
ToolRequest = tuple[int, ToolCallReady]

_MARK = "\u27e6hone-thread-break\u27e7"


class _Detokenizer:
    """Token ids to text, one token at a time; bytes of an unfinished UTF-8 character wait
    for the token that completes them."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer, self._pending = tokenizer, list[int]()

    def push(self, token: int) -> str:
        self._pending.append(token)
        text = str(self._tokenizer.decode(self._pending, skip_special_tokens=False))
        if text.endswith("\ufffd") and len(self._pending) < 4:
            return ""
        self._pending = []
        return text

    def reset(self) -> None:
        self._pending = []


class _Row:
    """One episode of the batch."""

    def __init__(self, index: int, prompt: Sequence[int], episode: ThreadEpisode) -> None:
        self.index, self.episode = index, episode
        n = len(prompt)
        self.tokens: list[int] = list(prompt)
        self.kinds: list[TokenKind] = ["prompt"] * n
        self.logprobs: list[float | None] = [None] * n
        self.hidden: list[int | None] = [None] * n
        self.chars: list[int] = [-1] * n  # where in the thread text each token sits
        self.text_tokens: list[int] = []  # live tokens whose text is thread text, in order
        self.queue: deque[int] = deque(range(n))  # trace indexes waiting to be fed
        self.teacher: deque[int] = deque()
        self.prompt_length = n
        self.slot = index  # row of the cache
        self.waiting = False
        self.result: str | None = None  # a delivered tool result, not written yet
        self.matcher: TokenConstraint | None = None
        self.sampler: StepRow | None = None
        self.stop: ThreadStop | None = None
        self.detail = ""
        self.fed = self.model_tokens = self.forced_tokens = self.peak = 0

    def append(self, token: int, kind: TokenKind, char: int, logprob: float | None = None) -> int:
        self.tokens.append(token)
        self.kinds.append(kind)
        self.logprobs.append(logprob)
        self.hidden.append(None)
        self.chars.append(char)
        return len(self.tokens) - 1

    def end(self, stop: ThreadStop, detail: str) -> None:
        if self.stop is None:
            self.stop, self.detail = stop, detail

    def trace(self) -> ThreadTrace:
        return ThreadTrace(
            token_ids=tuple(self.tokens),
            kinds=tuple(self.kinds),
            logprobs=tuple(self.logprobs),
            positions=tuple(range(len(self.tokens))),
            hidden_from=tuple(self.hidden),
        )


class ThreadBatch:
    """Episodes decoded together on one local model (see the module docstring).

    Drive it with :meth:`advance` (on the compute thread) until :attr:`finished`; run the
    tool requests it returns and hand each result to :meth:`deliver`. A prompt that does not
    fit ends its episode with stop reason "context_overflow" (nothing is raised).

    Raises:
        CapabilityError: ``options.constrained`` without llguidance, or a model with
            sliding-window or recurrent layers.
        ConfigError: a teacher that stops before a thread is finished, or writes past a
            tool use's parameters (from :meth:`advance`).
    """

    def __init__(
        self,
        model: TransformersModel,
        prompts: Sequence[Sequence[AnyMessage]],
        schema: ThreadSchema,
        options: ThreadOptions,
        *,
        teacher: Teacher | None = None,
    ) -> None:
        self.backend, self.model, self.tokenizer = model, model.model, model.tokenizer
        self.schema, self.options, self.teacher = schema, options, teacher
        ids = model.special_ids
        self.pad, self.ends = ids.pad, ids.end_of_turn | {ids.pad}
        config = getattr(self.model, "config", None)
        self.position_limit = int(getattr(config, "max_position_embeddings", 0) or 0) or (
            model.max_context
        )
        self.max_context = options.max_context or model.max_context
        self.rows = [
            _Row(i, model.encode_prompt(ChatRequest(messages=tuple(p))), self._episode())
            for i, p in enumerate(prompts)
        ]
        self._prompts = [tuple(p) for p in prompts]
        self._detoks = [_Detokenizer(self.tokenizer) for _ in self.rows]
        self._setup_sampling()
        longest = max((len(r.tokens) for r in self.rows), default=1)
        self.cache = PrunableCache(self.model, len(self.rows), longest + 256)
        self.live = list(self.rows)
        self._requests: list[ToolRequest] = []
        for row in self.rows:
            if len(row.tokens) > min(self.max_context, self.position_limit):
                row.end("context_overflow", f"the prompt alone is {len(row.tokens)} tokens")
        self._drop_finished()

    def _episode(self) -> ThreadEpisode:
        return ThreadEpisode(self.schema, self.options.prune)

    def _setup_sampling(self) -> None:
        sampling = self.options.sampling
        engine = None
        if self.options.constrained and self.teacher is None:
            vocab = int(getattr(self.model.config, "vocab_size", 0) or len(self.tokenizer))
            engine = GrammarEngine(self.tokenizer, vocab_size=vocab, end_of_turn=sorted(self.ends))
        grammar = self.schema.grammar() if engine is not None else None
        device = next(self.model.parameters()).device
        for row in self.rows:
            generator = None
            if sampling.seed is not None:
                generator = torch.Generator(device=device).manual_seed(sampling.seed + row.index)
            spec = RowSpec(
                prompt_ids=(),
                max_new_tokens=sampling.max_tokens,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                top_k=sampling.top_k or 0,
            )
            row.matcher = engine.matcher(grammar) if engine is not None and grammar else None
            row.sampler = StepRow(spec=spec, generator=generator, constraint=row.matcher)

    # -- driving -------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """Every episode has ended."""
        return not self.live

    def deliver(self, index: int, result: str) -> None:
        """Hand episode ``index`` the text of its tool's result (written at the next step)."""
        self.rows[index].result = result

    def advance(self) -> list[ToolRequest]:
        """Decode until some episode asks for a tool, or every live one waits for one, or
        all have ended; return the new tool requests. Runs under ``torch.inference_mode``."""
        with torch.inference_mode(), _eval_mode(self.model):
            while self.live and not self._requests:
                for row in self.live:
                    if row.result is not None:
                        self._write_result(row)
                if not self._step():
                    break
        requests, self._requests = self._requests, []
        return requests

    def results(self) -> list[ThreadResult]:
        """Every episode's result, in task order."""
        return [self._result(row) for row in self.rows]

    # -- one step ----------------------------------------------------------------------

    def _step(self) -> bool:
        """Feed one chunk per row and choose the next tokens; False when no row could be fed
        (all wait for tools)."""
        chunks = [self._chunk(row) for row in self.live]
        if not any(chunks):
            return False
        visible = self.cache.visible()
        for row, chunk in zip(self.live, chunks, strict=True):
            if chunk and not self._fits(row, chunk, visible[row.slot]):
                chunk.clear()
        if not any(chunks):
            self._drop_finished()
            return True
        steps = [
            [(row.tokens[i], i, i) for i in chunk]
            for row, chunk in zip(self.live, chunks, strict=True)
        ]
        ids, positions, attention = self.cache.step(steps, self.pad)
        out = self.model(
            input_ids=ids,
            attention_mask=attention,
            position_ids=positions,
            past_key_values=self.cache.cache,
            use_cache=True,
            logits_to_keep=1,
        )
        logits = out.logits[:, -1, :]  # (B, V)
        for row, chunk in zip(self.live, chunks, strict=True):
            row.fed += len(chunk)
            row.peak = max(row.peak, visible[row.slot] + len(chunk))
        choosing = [
            row
            for row, chunk in zip(self.live, chunks, strict=True)
            if chunk and row.stop is None and not row.queue and not row.waiting
        ]
        self._choose(choosing, logits)
        compact_after = self.options.compact_after
        if compact_after is not None and self.cache.dead() >= compact_after:
            self.cache.compact()
        self._drop_finished()
        return True

    def _chunk(self, row: _Row) -> list[int]:
        if row.stop is not None or not row.queue:
            return []
        limit = len(row.queue) if row.fed == 0 else self.options.max_chunk  # whole prompt
        return [row.queue.popleft() for _ in range(min(limit, len(row.queue)))]

    def _fits(self, row: _Row, chunk: list[int], visible: int) -> bool:
        if visible + len(chunk) > self.max_context:
            row.end(
                "context_overflow",
                f"the working memory needs {visible + len(chunk)} tokens even after pruning; "
                f"max_context is {self.max_context}",
            )
            return False
        if chunk[-1] >= self.position_limit:
            row.end(
                "context_overflow",
                f"the episode reached position {chunk[-1]}; the model has "
                f"{self.position_limit} positions",
            )
            return False
        return True

    def _choose(self, rows: list[_Row], logits: torch.Tensor) -> None:
        sampled: list[_Row] = []
        for row in rows:
            if len(row.tokens) - row.prompt_length >= self.options.sampling.max_tokens:
                row.end(
                    "length", f"the budget of {self.options.sampling.max_tokens} tokens ran out"
                )
            elif self.teacher is not None:
                token = self._teacher_token(row)
                row_logits = logits[row.slot]
                if row_logits.dtype != torch.float64:
                    row_logits = row_logits.float()
                logprob = float(torch.log_softmax(row_logits, dim=-1)[token])
                self._take(row, token, logprob)
            else:
                sampled.append(row)
        if not sampled:
            return
        index = torch.tensor([row.slot for row in sampled], device=logits.device)
        steps = [row.sampler for row in sampled if row.sampler is not None]
        for row, chosen in zip(sampled, sample_step(logits[index], steps), strict=True):
            if row.sampler is not None:
                row.matcher = row.sampler.constraint  # None once the grammar gave up
            self._take(row, chosen.token, chosen.logprob)

    def _teacher_token(self, row: _Row) -> int:
        if not row.teacher and self.teacher is not None:
            piece = self.teacher.continuation(row.index, row.episode.text)
            if not piece:
                raise ConfigError(
                    f"the teacher wrote nothing for episode {row.index}, whose thread is not "
                    "finished; a teacher must continue every thread to its end"
                )
            row.teacher.extend(self._encode(piece))
        return row.teacher.popleft()

    # -- what a token does -------------------------------------------------------------

    def _take(self, row: _Row, token: int, logprob: float) -> None:
        """Record a model token and act on what it wrote."""
        index = row.append(token, "model", row.episode.length, logprob)
        row.text_tokens.append(index)
        row.model_tokens += 1
        if row.matcher is not None and not row.matcher.accept(token):
            row.matcher = None
            if row.sampler is not None:
                row.sampler.constraint = None
        if token in self.ends:
            self._detoks[row.index].reset()
            self._error(row, row.episode.unfinished())
            return
        piece = self._detoks[row.index].push(token)
        if not piece:
            row.queue.append(index)
            return
        written = row.episode.write(piece)
        if written.error is not None:
            self._error(row, written.error)
            return
        for span in written.pruned:
            self._prune(row, span, hidden_from=index)
        if written.closed:
            row.end("answer", "the thread is complete")
            return
        row.queue.append(index)
        if written.call is not None:
            if row.teacher:
                raise ConfigError(
                    f"the teacher's piece for episode {row.index} goes on past the parameters "
                    "of a tool use; end each piece there (the runtime writes the result)"
                )
            row.waiting = True
            self._requests.append((row.index, written.call))

    def _write_result(self, row: _Row) -> None:
        result, row.result, row.waiting = row.result or "", None, False
        start = row.episode.length
        self._force_text(row, row.episode.deliver(result), start)

    def _force_text(self, row: _Row, text: str, start: int) -> None:
        """Queue runtime-written thread text (its tokens are thread text from ``start``)."""
        detok, at = _Detokenizer(self.tokenizer), start
        for token in self._encode(text):
            index = row.append(token, "forced", at)
            row.text_tokens.append(index)
            row.queue.append(index)
            row.forced_tokens += 1
            if row.matcher is not None and not row.matcher.accept(token):
                row.matcher = None
                if row.sampler is not None:
                    row.sampler.constraint = None
            at += len(detok.push(token))

    def _prune(self, row: _Row, span: Span, *, hidden_from: int) -> None:
        """Hide the tokens that start inside ``span`` from token ``hidden_from`` on."""
        gone = [
            i
            for i in range(row.prompt_length, hidden_from)
            if row.hidden[i] is None and span.start <= row.chars[i] < span.end
        ]
        for i in gone:
            row.hidden[i] = hidden_from
        self.cache.hide(row.slot, gone)

    def _error(self, row: _Row, error: ThreadError) -> None:
        """Cut the thread back to the error and show it to the model (or end the episode
        once the corrections are used up)."""
        if len(row.episode.errors) > self.options.max_corrections:
            row.end(
                "malformed",
                f"{len(row.episode.errors)} malformed-tree problems; last: {error.message}",
            )
            return
        at = error.offset
        start = max((row.chars[i] for i in row.text_tokens if row.chars[i] <= at), default=0)
        first = next((i for i in row.text_tokens if row.chars[i] >= start), len(row.tokens))
        now = len(row.tokens)  # the first token after the cut; nothing from `first` on is seen
        gone = [i for i in range(first, now) if row.hidden[i] is None]
        for i in gone:
            row.hidden[i] = now
        self.cache.hide(row.slot, gone)
        row.queue = deque(i for i in row.queue if i < first)
        row.text_tokens = [i for i in row.text_tokens if i < first]
        row.teacher.clear()
        pending = row.episode.retract(at)
        self._detoks[row.index].reset()
        row.matcher = None  # the grammar cannot follow a cut; decoding goes on unconstrained
        if row.sampler is not None:
            row.sampler.constraint = None
        self._force_text(row, row.episode.text[start:at], start)
        for token in self._encode(self._turn_break(row, notice_text(error))):
            row.queue.append(row.append(token, "forced", at))
            row.forced_tokens += 1
        if pending is not None:  # cut right after a tool use's parameters: run it now
            row.waiting = True
            self._requests.append((row.index, pending))

    def _turn_break(self, row: _Row, notice: str) -> str:
        """The template's text between an assistant turn's content and the next one's: the
        end of the turn, a user turn with ``notice``, the start of an assistant turn."""
        messages = (
            *self._prompts[row.index],
            AssistantMessage(content=_MARK),
            UserMessage(content=notice),
        )
        text = self.backend.render(ChatRequest(messages=messages))
        return text[text.index(_MARK) + len(_MARK) :]

    def _encode(self, text: str) -> list[int]:
        return [int(i) for i in self.tokenizer(text, add_special_tokens=False)["input_ids"]]

    def _drop_finished(self) -> None:
        staying = [row for row in self.live if row.stop is None]
        if len(staying) == len(self.live):
            return
        if staying:
            self.cache.select([row.slot for row in staying])
        for slot, row in enumerate(staying):
            row.slot = slot
        self.live = staying

    def _result(self, row: _Row) -> ThreadResult:
        episode = row.episode
        stop = row.stop or "length"
        return ThreadResult(
            thread=episode.thread,
            text=episode.text,
            stop=stop,
            detail=row.detail,
            errors=tuple(episode.errors),
            tool_calls=episode.tool_calls,
            stats=ThreadStats(
                model_tokens=row.model_tokens,
                forced_tokens=row.forced_tokens,
                processed_tokens=row.fed,
                kv_entries=sum(1 for h in row.hidden if h is None),
                peak_kv_entries=row.peak,
                calls=1,
            ),
            trace=row.trace(),
        )


class _eval_mode:  # lower case: it reads like a function, `with _eval_mode(model):`
    """Eval mode (no dropout) while decoding, and back afterwards."""

    def __init__(self, model: Any) -> None:
        self._model, self._was_training = model, bool(getattr(model, "training", False))

    def __enter__(self) -> None:
        self._model.eval()

    def __exit__(self, *_: object) -> None:
        if self._was_training:
            self._model.train()
