"""The conformance checks, one coroutine per behaviour, and how to run them.

Every check gets a fresh backend from the harness and closes it afterwards. Checks that need
something the harness does not offer (a scorer, an encoder, a context window) raise
``unittest.SkipTest``, which pytest reports as skipped.
"""

from __future__ import annotations

import asyncio
import math
import unittest
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, get_args

from hone._sync import run_sync
from hone.errors import CapabilityError, ContextOverflowError
from hone.messages import AssistantMessage, UserMessage
from hone.models._protocol import (
    ChatRequest,
    Completion,
    FinishReason,
    ModelBackend,
    SamplingOptions,
    StreamEvent,
    make_request,
)
from hone.models.conformance._harness import BackendHarness, expect

__all__ = ["CHECKS", "arun_all", "arun_check", "run_all", "run_check"]

Check = Callable[[ModelBackend, BackendHarness], Awaitable[None]]

#: A tool every check that needs one offers.
ADD_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two integers.",
        "parameters": {
            "type": "object",
            "properties": {
                "a": {"type": "integer", "minimum": 0, "maximum": 9},
                "b": {"type": "integer", "minimum": 0, "maximum": 9},
            },
            "required": ["a", "b"],
            "additionalProperties": False,
        },
    },
}

_PROMPTS = ("What is 2 + 3?", "Name a colour.", "Say something about the sea.")


def _options(harness: BackendHarness, **changes: Any) -> SamplingOptions:
    base = SamplingOptions(
        max_tokens=harness.max_tokens, seed=7, logprobs=True, return_token_ids=True
    )
    return base.with_(**changes)


def _request(harness: BackendHarness, prompt: str = _PROMPTS[0], **changes: Any) -> ChatRequest:
    return make_request(prompt, options=_options(harness, **changes))


def _ids_of(
    completion: Completion, what: str
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[float, ...]]:
    """(prompt ids, sampled ids, logprobs), which must all be there."""
    expect(completion.prompt_token_ids is not None, f"{what}: no prompt_token_ids, though asked")
    expect(completion.token_ids is not None, f"{what}: no token_ids, though asked")
    expect(completion.logprobs is not None, f"{what}: no logprobs, though asked")
    assert completion.prompt_token_ids is not None and completion.token_ids is not None
    assert completion.logprobs is not None
    return completion.prompt_token_ids, completion.token_ids, completion.logprobs


def _gap(a: Sequence[float], b: Sequence[float]) -> float:
    """The largest difference of two logprob lists of one length (inf if lengths differ)."""
    if len(a) != len(b):
        return math.inf
    return max((abs(x - y) for x, y in zip(a, b, strict=True)), default=0.0)


# -- shapes --------------------------------------------------------------------------------


async def check_completion_shape(backend: ModelBackend, harness: BackendHarness) -> None:
    """``complete`` returns a Completion whose fields have the protocol's types and agree."""
    out = await backend.complete(_request(harness))
    expect(isinstance(out, Completion), f"complete returned {type(out).__name__}, not Completion")
    expect(isinstance(out.message, AssistantMessage), "message is not an AssistantMessage")
    expect(out.finish_reason in get_args(FinishReason), f"finish_reason {out.finish_reason!r}")
    expect(isinstance(out.text, str), "text is not a str")
    expect(isinstance(out.model, str) and bool(out.model), "model is empty")
    expect(all(isinstance(e, str) for e in out.parse_errors), "parse_errors are not strs")
    expect(out.usage.completion_tokens <= harness.max_tokens, "more tokens than max_tokens")
    expect(
        out.usage.total_tokens == out.usage.prompt_tokens + out.usage.completion_tokens,
        "usage.total_tokens is not prompt + completion",
    )


async def check_token_ids_and_logprobs(backend: ModelBackend, harness: BackendHarness) -> None:
    """Asked for them, a backend returns prompt ids, sampled ids and one finite logprob ≤ 0 per
    sampled id; usage counts those ids, and the OpenAI-shaped entries agree with them."""
    out = await backend.complete(_request(harness))
    prompt, ids, logprobs = _ids_of(out, "complete")
    expect(len(prompt) > 0, "prompt_token_ids is empty")
    expect(all(isinstance(i, int) for i in (*prompt, *ids)), "token ids are not ints")
    expect(0 < len(ids) <= harness.max_tokens, f"{len(ids)} sampled ids for max_tokens")
    expect(len(logprobs) == len(ids), f"{len(logprobs)} logprobs for {len(ids)} ids")
    expect(all(math.isfinite(v) and v <= 1e-6 for v in logprobs), "a logprob > 0 or not finite")
    expect(out.usage.prompt_tokens == len(prompt), "usage.prompt_tokens != len(prompt ids)")
    expect(out.usage.completion_tokens == len(ids), "usage.completion_tokens != len(ids)")
    entries = out.token_logprobs
    expect(entries is not None and len(entries) == len(ids), "token_logprobs do not match ids")
    assert entries is not None
    for i, entry in enumerate(entries):
        expect(entry.token_id in (None, ids[i]), f"token_logprobs[{i}] names another id")
        expect(abs(entry.logprob - logprobs[i]) <= harness.tolerance, f"token_logprobs[{i}]")


async def check_exact_prompt_ids(backend: ModelBackend, harness: BackendHarness) -> None:
    """The prompt ids are exactly the ones the model was given (the harness's encoding)."""
    if harness.encode is None:
        raise unittest.SkipTest("the harness has no encode()")
    conversation = (
        UserMessage(content=_PROMPTS[0]),
        AssistantMessage(content="5"),
        UserMessage(content=_PROMPTS[1]),
    )
    request = ChatRequest(messages=conversation, options=_options(harness))
    prompt, _, _ = _ids_of(await backend.complete(request), "complete")
    expect(list(prompt) == list(harness.encode(request)), "prompt ids differ from the encoding")


async def check_rescorable_logprobs(backend: ModelBackend, harness: BackendHarness) -> None:
    """Reported logprobs are the model's raw ones: re-scoring prompt + sampled ids in one
    forward pass gives them back (sampled at temperature 1 and 0.7 with top-p)."""
    if harness.score is None:
        raise unittest.SkipTest("the harness has no score()")
    for temperature, top_p in ((1.0, 1.0), (0.7, 0.9)):
        out = await backend.complete(_request(harness, temperature=temperature, top_p=top_p))
        prompt, ids, logprobs = _ids_of(out, "complete")
        worst = _gap(logprobs, harness.score(prompt, ids))
        expect(worst <= harness.tolerance, f"logprobs differ from re-scoring by {worst:.2e}")


async def check_top_logprobs(backend: ModelBackend, harness: BackendHarness) -> None:
    """With ``top_logprobs=k`` every entry lists 1..k alternatives, most likely first; the
    sampled token is never more likely than the first, and agrees with itself when listed."""
    out = await backend.complete(_request(harness, top_logprobs=3))
    entries = out.token_logprobs
    expect(bool(entries), "no token_logprobs with logprobs=True")
    assert entries is not None
    for i, entry in enumerate(entries):
        top = entry.top
        expect(1 <= len(top) <= 3, f"entry {i} has {len(top)} alternatives for top_logprobs=3")
        values = [t.logprob for t in top]
        expect(values == sorted(values, reverse=True), f"entry {i}'s alternatives are unsorted")
        expect(entry.logprob <= values[0] + harness.tolerance, f"entry {i} beats its top-1")
        for alt in top:
            if alt.token_id is not None and alt.token_id == entry.token_id:
                expect(abs(alt.logprob - entry.logprob) <= harness.tolerance, f"entry {i}")


# -- seeds and batches ---------------------------------------------------------------------


async def check_seed_reproducible(backend: ModelBackend, harness: BackendHarness) -> None:
    """The same seeded request gives the same ids and text again."""
    if not harness.reproducible:
        raise unittest.SkipTest("the backend does not promise reproducible seeds")
    first = await backend.complete(_request(harness))
    again = await backend.complete(_request(harness))
    expect(first.token_ids == again.token_ids, "a seeded request gave other ids the second time")
    expect(first.text == again.text, "a seeded request gave another text the second time")


async def check_batch(backend: ModelBackend, harness: BackendHarness) -> None:
    """``complete_batch`` answers every request, in order; an empty batch is an empty list;
    for a reproducible backend each row equals the same request sent alone."""
    expect(await backend.complete_batch([]) == [], "an empty batch did not give []")
    requests = [_request(harness, p, seed=i) for i, p in enumerate(_PROMPTS)]
    batched = await backend.complete_batch(requests)
    expect(len(batched) == len(requests), f"{len(batched)} completions for {len(requests)}")
    if not harness.reproducible:
        return
    for i, (request, row) in enumerate(zip(requests, batched, strict=True)):
        alone = await backend.complete(request)
        expect(row.prompt_token_ids == alone.prompt_token_ids, f"row {i}: other prompt ids")
        expect(row.token_ids == alone.token_ids, f"row {i}: batched ids differ from alone")
        worst = _gap(row.logprobs or (), alone.logprobs or ())
        expect(worst <= harness.tolerance, f"row {i}: logprobs differ by {worst:.2e}")


async def check_concurrent_calls_fail_alone(backend: ModelBackend, harness: BackendHarness) -> None:
    """Of concurrent ``complete`` calls, one that fails (a prompt over the context window)
    fails alone: the others complete."""
    if harness.context_window is None:
        raise unittest.SkipTest("the harness names no context window")
    good = [_request(harness, p) for p in _PROMPTS[:2]]
    bad = _request(harness, _too_long(harness.context_window))
    results = await asyncio.gather(
        *(backend.complete(r) for r in (good[0], bad, good[1])), return_exceptions=True
    )
    expect(isinstance(results[1], ContextOverflowError), f"the long prompt gave {results[1]!r}")
    expect(all(isinstance(r, Completion) for r in (results[0], results[2])), "others failed")


# -- errors --------------------------------------------------------------------------------


def _too_long(window: int) -> str:
    return "word " * (2 * window + 16)


async def check_context_overflow(backend: ModelBackend, harness: BackendHarness) -> None:
    """A prompt longer than the context window raises ContextOverflowError from ``complete``,
    ``complete_batch`` and ``stream``."""
    if harness.context_window is None:
        raise unittest.SkipTest("the harness names no context window")
    request = _request(harness, _too_long(harness.context_window))
    for name, call in (
        ("complete", lambda: backend.complete(request)),
        ("complete_batch", lambda: backend.complete_batch([request])),
        ("stream", lambda: _collect(backend.stream(request))),
    ):
        try:
            await call()
        except ContextOverflowError:
            continue
        except Exception as exc:
            raise AssertionError(f"{name} raised {exc!r}, not ContextOverflowError") from exc
        raise AssertionError(f"{name} accepted a prompt over the context window")


# -- streaming -----------------------------------------------------------------------------


async def _collect(events: Any) -> list[StreamEvent]:
    return [e async for e in events]


def _check_events(events: list[StreamEvent]) -> Completion:
    """Shared rules of a stream: deltas, then one ``done`` with the completion, last."""
    expect(bool(events), "the stream yielded nothing")
    *deltas, last = events
    expect(last.kind == "done" and last.completion is not None, "the last event is not done")
    assert last.completion is not None
    expect(all(e.kind in ("text", "reasoning") for e in deltas), "a done before the end")
    message = last.completion.message
    text = "".join(e.delta for e in deltas if e.kind == "text")
    reasoning = "".join(e.delta for e in deltas if e.kind == "reasoning")
    expect(text.strip() == message.text.strip(), f"text deltas {text!r} != {message.text!r}")
    expect(reasoning.strip() == (message.reasoning or "").strip(), "reasoning deltas differ")
    return last.completion


async def check_stream(backend: ModelBackend, harness: BackendHarness) -> None:
    """``stream`` yields text/reasoning deltas that add up to the message, then one ``done``
    whose completion is what ``complete`` gives (for a reproducible backend)."""
    request = _request(harness, _PROMPTS[2])
    done = _check_events(await _collect(backend.stream(request)))
    if harness.reproducible:
        alone = await backend.complete(request)
        expect(done.token_ids == alone.token_ids, "the streamed ids differ from complete's")
        expect(done.message == alone.message, "the streamed message differs from complete's")


async def check_stream_logprobs(backend: ModelBackend, harness: BackendHarness) -> None:
    """With logprobs, the entries the deltas carry are entries of the ``done`` completion, in
    its order, each at most once (a backend may leave markup tokens' entries to ``done``)."""
    events = await _collect(backend.stream(_request(harness, _PROMPTS[2], top_logprobs=2)))
    done = _check_events(events)
    streamed = [entry for e in events[:-1] for entry in e.logprobs]
    final = list(done.token_logprobs or ())
    expect(len(final) == len(done.token_ids or ()), "done's token_logprobs do not match its ids")
    expect(bool(streamed) or not done.message.text, "the deltas carry no logprobs")
    position = 0
    for n, entry in enumerate(streamed):
        while position < len(final) and final[position] != entry:
            position += 1
        expect(position < len(final), f"streamed entry {n} ({entry.token!r}) is not done's")
        position += 1


async def check_stream_stops_early(backend: ModelBackend, harness: BackendHarness) -> None:
    """A consumer may stop reading a stream; the backend serves the next call normally."""
    stream = backend.stream(_request(harness, _PROMPTS[2], max_tokens=4 * harness.max_tokens))
    async for _event in stream:
        break
    await stream.aclose()  # type: ignore[attr-defined]
    after = await asyncio.wait_for(backend.complete(_request(harness)), timeout=120)
    expect(isinstance(after, Completion), "the call after a closed stream failed")


# -- tools ---------------------------------------------------------------------------------


async def check_required_tool_call(backend: ModelBackend, harness: BackendHarness) -> None:
    """``tool_choice="required"`` gives a well-formed call (complete and stream alike); a
    stream shows no tool-call markup as text."""
    if not harness.structured:
        raise unittest.SkipTest("the backend does not honour tool_choice")
    request = ChatRequest(
        messages=(UserMessage(content="Add 2 and 3."),),
        tools=(ADD_TOOL,),
        tool_choice="required",
        options=_options(harness, max_tokens=max(harness.max_tokens, 160)),
    )
    try:
        out = await backend.complete(request)
    except CapabilityError as exc:
        raise unittest.SkipTest(f"constrained decoding is not available: {exc}") from exc
    expect(bool(out.message.tool_calls), f"no tool call under tool_choice='required': {out.text!r}")
    expect(out.finish_reason == "tool_calls", f"finish_reason {out.finish_reason!r}")
    expect(out.parse_errors == (), f"parse errors: {out.parse_errors}")
    expect(all(c.name == "add" for c in out.message.tool_calls), "a call to an unknown tool")
    events = await _collect(backend.stream(request))
    done = _check_events(events)
    expect(bool(done.message.tool_calls), "the streamed completion has no tool call")
    shown = "".join(e.delta for e in events)
    expect("<tool_call>" not in shown and '"arguments"' not in shown, "call markup streamed")


CHECKS: dict[str, Check] = {
    name.removeprefix("check_"): check
    for name, check in sorted(globals().items())
    if name.startswith("check_") and callable(check)
}


async def arun_check(harness: BackendHarness, name: str) -> None:
    """Run one check on a fresh backend, closing it afterwards.

    Raises:
        KeyError: no check has that name.
        AssertionError: the backend fails the check.
        unittest.SkipTest: the harness lacks what the check needs.
    """
    check = CHECKS[name]
    backend = harness.make()
    try:
        await check(backend, harness)
    finally:
        if harness.close is not None:
            await harness.close(backend)


def run_check(harness: BackendHarness, name: str) -> None:
    """:func:`arun_check` from synchronous code."""
    run_sync(arun_check(harness, name))


async def arun_all(harness: BackendHarness) -> dict[str, str]:
    """Run every check; returns ``{name: "passed" | "skipped: ..." | "failed: ..."}``."""
    outcomes: dict[str, str] = {}
    for name in CHECKS:
        try:
            await arun_check(harness, name)
        except unittest.SkipTest as exc:
            outcomes[name] = f"skipped: {exc}"
        except AssertionError as exc:
            outcomes[name] = f"failed: {exc}"
        else:
            outcomes[name] = "passed"
    return outcomes


def run_all(harness: BackendHarness) -> dict[str, str]:
    """:func:`arun_all` from synchronous code."""
    return run_sync(arun_all(harness))
