"""The per-call runtime: threads on any backend (remote OpenAI-compatible servers included).

A remote model cannot be paused mid-decoding or have tokens pruned from its cache, so each
tool call ends a call: the model's reply is read up to the end of a tool use's parameters
(the ``"tool_result"`` stop string saves the rest), the tool runs, and the next call sends
the thread again, *pruned on the text* (``ThreadEpisode.visible_text``), as the assistant turn
of the prompt followed by a user turn that asks the model to continue (or names the problem
in what it wrote). Each call is its own sample: its completion is kept for training.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeAlias

from hone import _compute
from hone.errors import ConfigError, ContextOverflowError
from hone.messages import AnyMessage, AssistantMessage, UserMessage, text_of
from hone.models._protocol import ChatRequest, Completion, ModelBackend
from hone.threads._episode import ThreadEpisode, ThreadStop, notice_text
from hone.threads._events import ToolCallReady
from hone.threads._options import ThreadOptions, ThreadResult, ThreadStats
from hone.threads._schema import ThreadSchema
from hone.threads._teacher import ForcedTokens, Teacher

__all__ = ["CONTINUE_PROMPT", "RunTool", "arun_per_call"]

#: Runs episode ``index``'s tool call and returns the result text the thread records.
RunTool: TypeAlias = Callable[[int, ToolCallReady], Awaitable[str]]

#: The user turn after the thread so far when there is nothing to correct.
CONTINUE_PROMPT = (
    "Continue your thread exactly where it stops: write only the text that comes next."
)
_STOP = ('"tool_result"',)


async def arun_per_call(
    model: ModelBackend,
    index: int,
    prompt: Sequence[AnyMessage],
    schema: ThreadSchema,
    options: ThreadOptions,
    run_tool: RunTool,
    *,
    teacher: Teacher | None = None,
) -> ThreadResult:
    """Run episode ``index`` call by call; ``run_tool(index, call)`` runs a tool and gives
    its result text."""
    episode = ThreadEpisode(schema, options.prune)
    completions: list[Completion] = []
    notice: str | None = None
    stop: ThreadStop | None = None
    detail = ""
    while stop is None:
        room = options.sampling.max_tokens - sum(c.usage.completion_tokens for c in completions)
        if room <= 0:
            stop, detail = "length", f"the budget of {options.sampling.max_tokens} tokens ran out"
            break
        request = _request(
            prompt, episode, notice, options, room, _seed(options, index, len(completions))
        )
        try:
            completion, piece = await _call(model, request, episode, index, teacher)
        except ContextOverflowError as exc:
            stop, detail = "context_overflow", str(exc)
            break
        completions.append(completion)
        written = episode.write(piece, exact_tail=False)
        notice = None
        if written.error is not None or (written.call is None and not written.closed):
            error = written.error or episode.unfinished()
            if len(episode.errors) > options.max_corrections:
                stop = "malformed"
                detail = f"{len(episode.errors)} malformed-tree problems; last: {error.message}"
                break
            notice = notice_text(error)
            pending = episode.retract(error.offset)
            if pending is not None:  # cut right after a tool use's parameters: run it
                episode.deliver(await run_tool(index, pending))
        elif written.closed:
            stop, detail = "answer", "the thread is complete"
        elif written.call is not None:
            episode.deliver(await run_tool(index, written.call))
    return _result(episode, stop, detail, completions)


def _request(
    prompt: Sequence[AnyMessage],
    episode: ThreadEpisode,
    notice: str | None,
    options: ThreadOptions,
    room: int,
    seed: int | None,
) -> ChatRequest:
    """The next call: the prompt, then the pruned thread so far and what to do next."""
    messages = list(prompt)
    if episode.length or notice is not None:
        messages += [
            AssistantMessage(content=episode.visible_text),
            UserMessage(content=notice or CONTINUE_PROMPT),
        ]
    sampling = options.sampling.with_(max_tokens=room, stop=_STOP, seed=seed)
    return ChatRequest(messages=tuple(messages), options=sampling)


def _result(
    episode: ThreadEpisode, stop: ThreadStop, detail: str, completions: Sequence[Completion]
) -> ThreadResult:
    usage = [c.usage for c in completions]
    return ThreadResult(
        thread=episode.thread,
        text=episode.text,
        stop=stop,
        detail=detail,
        errors=tuple(episode.errors),
        tool_calls=episode.tool_calls,
        stats=ThreadStats(
            model_tokens=sum(u.completion_tokens for u in usage),
            processed_tokens=sum(u.total_tokens for u in usage),
            kv_entries=usage[-1].total_tokens if usage else 0,
            peak_kv_entries=max((u.total_tokens for u in usage), default=0),
            calls=len(completions),
        ),
        completions=tuple(completions),
    )


async def _call(
    model: ModelBackend,
    request: ChatRequest,
    episode: ThreadEpisode,
    index: int,
    teacher: Teacher | None,
) -> tuple[Completion, str]:
    """One call: the model's reply, or the teacher's piece forced through a local model."""
    if teacher is None:
        completion = await model.complete(request)
        return completion, completion.text or text_of(completion.message.content)
    # Imported here: TransformersModel needs torch, which only teacher forcing does.
    from hone.models._transformers import TransformersModel

    if not isinstance(model, TransformersModel):
        raise ConfigError(
            "teacher forcing needs a local TransformersModel (a remote model cannot be made "
            f"to write given tokens); got {type(model).__name__}"
        )
    piece = teacher.continuation(index, episode.text)
    ids = [int(i) for i in model.tokenizer(piece, add_special_tokens=False)["input_ids"]]
    forced = ForcedTokens(ids, sorted(model.special_ids.end_of_turn))
    plain = request.options.with_(stop=())
    completions = await _compute.acall(
        model.generate,
        [ChatRequest(messages=request.messages, options=plain)],
        constraints=[forced],
    )
    return completions[0], piece


def _seed(options: ThreadOptions, index: int, call: int) -> int | None:
    seed = options.sampling.seed
    return None if seed is None else seed + 1_000_003 * index + call
