"""KV reuse across turns: the prefix cache itself, and parity of TransformersModel with reuse on
and off (same seeds: the same sampled ids, and the same logprobs to float32 rounding).

Why logprobs are not bit-identical: a kept prefix's keys and values were computed by an earlier
forward pass, with another batch, padding and sequence length than re-encoding would use, so
the matrix products and the attention softmax add their terms in another order. In float32
that moves logprobs by about 1e-6 (the scaled-up tiny model of these tests, whose logits are
large, shows up to ~6e-6); the sampled ids match exactly unless two tokens tie to within that.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from hone.errors import ConfigError
from hone.messages import AnyMessage, UserMessage
from hone.models import BatchingModel
from hone.models._kv_cache import supports_reuse
from hone.models._prefix_cache import BLOCK, PrefixCache, PrefixState
from hone.models._protocol import ChatRequest, Completion, SamplingOptions
from hone.models._transformers import TransformersModel

#: Largest logprob difference allowed between reuse and re-encoding (see the module docs).
TOLERANCE = 5e-5


def _state(tokens: list[int]) -> PrefixState:
    return PrefixState(tokens=tuple(tokens), keys=(), values=())


# -- the cache ------------------------------------------------------------------------------


def test_lookup_finds_the_longest_token_prefix() -> None:
    cache = PrefixCache(max_tokens=1_000)
    base = list(range(100, 140))
    cache.store(_state(base))
    cache.store(_state([*base, 1, 2, 3, 4, 5]))
    cache.store(_state([*base[:20], 9, 9, 9]))
    prompt = [*base, 1, 2, 3, 7, 7]
    found = cache.lookup(prompt)
    assert found is not None and found.length == len(base) + 3
    assert found.state.tokens == (*base, 1, 2, 3, 4, 5)


def test_lookup_leaves_the_last_prompt_token_to_encode() -> None:
    cache = PrefixCache(max_tokens=1_000)
    tokens = list(range(40))
    cache.store(_state(tokens))
    found = cache.lookup(tokens)
    assert found is not None and found.length == len(tokens) - 1


def test_prefixes_shorter_than_a_block_are_not_reused() -> None:
    cache = PrefixCache(max_tokens=1_000)
    cache.store(_state(list(range(50))))
    assert cache.lookup([*range(BLOCK - 1), 999, 999]) is None  # diverges inside the first block
    assert cache.lookup([7, *range(60)]) is None  # a different first token
    stats = cache.stats
    assert stats.lookups == 2 and stats.hits == 0 and stats.reused_tokens == 0


def test_a_match_inside_a_partial_last_block_counts() -> None:
    cache = PrefixCache(max_tokens=1_000)
    cache.store(_state(list(range(BLOCK * 2 + 5))))  # two full blocks and five more tokens
    found = cache.lookup([*range(BLOCK * 2 + 3), 500, 501])
    assert found is not None and found.length == BLOCK * 2 + 3


def test_the_token_budget_evicts_the_least_recently_used() -> None:
    cache = PrefixCache(max_tokens=100)
    a, b, c = ([k * 1000 + i for i in range(40)] for k in (1, 2, 3))
    cache.store(_state(a))
    cache.store(_state(b))
    assert cache.lookup([*a, 5]) is not None  # a is now the most recently used
    cache.store(_state(c))
    stats = cache.stats
    assert stats.tokens <= 100 and stats.evicted == 1 and stats.entries == 2
    assert cache.lookup([*b, 5]) is None
    assert cache.lookup([*a, 5]) is not None and cache.lookup([*c, 5]) is not None
    cache.store(_state(list(range(101))))  # longer than the whole budget: not kept
    assert cache.stats.entries == 2


def test_a_continuation_replaces_the_entry_it_covers() -> None:
    cache = PrefixCache(max_tokens=1_000)
    turn = list(range(40))
    cache.store(_state(turn))
    start = cache.lookup([*turn, 1, 2, 3])
    assert start is not None and start.length == len(turn)
    cache.store(_state([*turn, 1, 2, 3, 4]), started_from=start)
    assert cache.stats.entries == 1 and cache.stats.tokens == len(turn) + 4
    # An entry used only in part (the template re-rendered its tail) stays.
    partial = cache.lookup([*turn[:30], 77, 78])
    assert partial is not None
    cache.store(_state([*turn[:30], 77, 78, 79]), started_from=partial)
    assert cache.stats.entries == 2


def test_changed_weights_drop_every_entry() -> None:
    layer = torch.nn.Linear(2, 2)
    cache = PrefixCache(max_tokens=1_000)
    cache.sync(layer)
    cache.store(_state(list(range(40))))
    cache.sync(layer)  # nothing changed
    assert cache.stats.entries == 1
    with torch.no_grad():
        layer.weight.add_(1.0)
    cache.sync(layer)
    assert cache.stats.entries == 0 and cache.stats.cleared == 1


def test_stats_report_the_reuse_rate() -> None:
    cache = PrefixCache(max_tokens=1_000)
    cache.store(_state(list(range(40))))
    cache.lookup([*range(40), 1])  # 40 of 41 reused
    cache.lookup([500] * 59)  # nothing
    assert cache.stats.reuse_rate == pytest.approx(40 / 100)


# -- the backend ----------------------------------------------------------------------------


def _fresh(tiny: TransformersModel, *, reuse: bool, budget: int = 32_768) -> TransformersModel:
    return TransformersModel(
        tiny.model, tiny.tokenizer, name="tiny", prefix_cache_tokens=budget if reuse else 0
    )


def _conversations(n: int) -> list[list[AnyMessage]]:
    topics = ("the sea", "numbers and how to add them", "a long walk", "the world")
    return [
        [UserMessage(content=f"Tell me about {topics[i % 4]}, please ({i}).")] for i in range(n)
    ]


async def _play(
    model: TransformersModel,
    conversations: list[list[AnyMessage]],
    turns: int,
    options: SamplingOptions,
    **request: Any,
) -> list[list[Completion]]:
    """``turns`` batched calls per conversation; each reply and a new user turn are appended."""
    out = []
    for turn in range(turns):
        requests = [
            ChatRequest(
                messages=tuple(c),
                options=options.with_(seed=None if options.seed is None else options.seed + i),
                **request,
            )
            for i, c in enumerate(conversations)
        ]
        completions = await model.complete_batch(requests)
        for conversation, completion in zip(conversations, completions, strict=True):
            conversation.append(completion.message)
            conversation.append(UserMessage(content=f"Go on ({turn})."))
        out.append(completions)
    return out


def _assert_same(reused: list[list[Completion]], encoded: list[list[Completion]]) -> None:
    for turn_a, turn_b in zip(reused, encoded, strict=True):
        for a, b in zip(turn_a, turn_b, strict=True):
            assert a.prompt_token_ids == b.prompt_token_ids
            assert a.token_ids == b.token_ids
            assert a.text == b.text
            assert a.logprobs is not None and b.logprobs is not None
            assert max(abs(x - y) for x, y in zip(a.logprobs, b.logprobs, strict=True)) < TOLERANCE


@pytest.mark.parametrize(
    "options",
    [
        SamplingOptions(max_tokens=12, temperature=0.0),
        SamplingOptions(max_tokens=12, seed=5, top_k=40),
    ],
    ids=["greedy", "sampled"],
)
async def test_one_conversation_reuses_and_matches_re_encoding(
    tiny_model: TransformersModel, options: SamplingOptions
) -> None:
    reusing = _fresh(tiny_model, reuse=True)
    encoding = _fresh(tiny_model, reuse=False)
    reused = await _play(reusing, _conversations(1), 3, options)
    encoded = await _play(encoding, _conversations(1), 3, options)
    _assert_same(reused, encoded)
    stats = reusing.prefix_cache_stats
    assert stats.hits == 2
    # The tiny template keeps history append-only: turn k + 1 reuses at least turn k's prompt.
    first_prompt = len(reused[0][0].prompt_token_ids or ())
    assert stats.reused_tokens >= first_prompt
    assert encoding.prefix_cache_stats.lookups == 0


async def test_a_batch_mixes_rows_with_different_reused_lengths(
    tiny_model: TransformersModel,
) -> None:
    options = SamplingOptions(max_tokens=10, seed=11)
    reusing = _fresh(tiny_model, reuse=True)
    encoding = _fresh(tiny_model, reuse=False)
    convs_a, convs_b = _conversations(3), _conversations(3)
    # Row 0 gets two turns of history, row 1 one, row 2 none, before they share a batch.
    for model, convs in ((reusing, convs_a), (encoding, convs_b)):
        await _play(model, convs[:2], 1, options)
        await _play(model, convs[:1], 1, options.with_(max_tokens=6))
    reused = await _play(reusing, convs_a, 2, options)
    encoded = await _play(encoding, convs_b, 2, options)
    _assert_same(reused, encoded)
    assert reusing.prefix_cache_stats.hits == 1 + 2 + 3  # row 0; rows 0 and 1; all three


async def test_concurrent_conversations_through_batching_match(
    tiny_model: TransformersModel,
) -> None:
    """The rollout path: concurrent agents whose calls BatchingModel coalesces, so each batch
    mixes conversations at whatever turn they reached."""

    async def agent(model: BatchingModel, index: int) -> list[Completion]:
        conversation: list[AnyMessage] = list(_conversations(4)[index])
        out = []
        for turn in range(2 + index % 2):
            options = SamplingOptions(max_tokens=6 + 3 * index, seed=100 * turn + index)
            done = await model.complete(ChatRequest(messages=tuple(conversation), options=options))
            conversation += [done.message, UserMessage(content=f"Then? ({turn})")]
            out.append(done)
        return out

    async def run(model: TransformersModel) -> list[list[Completion]]:
        batched = BatchingModel(model, max_wait_ms=2.0)
        return list(await asyncio.gather(*(agent(batched, i) for i in range(4))))

    reusing = _fresh(tiny_model, reuse=True)
    reused, encoded = await run(reusing), await run(_fresh(tiny_model, reuse=False))
    for a, b in zip(reused, encoded, strict=True):
        _assert_same([[c] for c in a], [[c] for c in b])
    assert reusing.prefix_cache_stats.hits == sum(1 + i % 2 for i in range(4))


async def test_grammar_constrained_rows_match_re_encoding(tiny_model: TransformersModel) -> None:
    pytest.importorskip("llguidance")
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 99}},
        "required": ["n"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "n", "schema": schema}}
    options = SamplingOptions(max_tokens=24, seed=3)
    reusing = _fresh(tiny_model, reuse=True)
    encoding = _fresh(tiny_model, reuse=False)
    reused = await _play(reusing, _conversations(2), 2, options, response_format=fmt)
    encoded = await _play(encoding, _conversations(2), 2, options, response_format=fmt)
    _assert_same(reused, encoded)
    assert reusing.prefix_cache_stats.hits == 2
    assert all(c.parse_errors == () for turn in reused for c in turn)


async def test_streaming_reuses_and_matches_complete(tiny_model: TransformersModel) -> None:
    options = SamplingOptions(max_tokens=10, seed=2)
    reusing = _fresh(tiny_model, reuse=True)
    conversation = _conversations(1)[0]
    first = await reusing.complete(ChatRequest(messages=tuple(conversation), options=options))
    follow = (*conversation, first.message, UserMessage(content="And then?"))
    request = ChatRequest(messages=follow, options=options)
    events = [e async for e in reusing.stream(request)]
    done = events[-1].completion
    assert done is not None and reusing.prefix_cache_stats.hits == 1
    encoded = await _fresh(tiny_model, reuse=False).complete(request)
    assert done.token_ids == encoded.token_ids


async def test_a_training_step_drops_the_kept_states(tiny_model: TransformersModel) -> None:
    import copy

    policy = copy.deepcopy(tiny_model.model)
    live = TransformersModel(policy, tiny_model.tokenizer, name="policy")
    options = SamplingOptions(max_tokens=10, temperature=0.0)
    conversation = _conversations(1)
    await _play(live, conversation, 1, options)
    optimizer = torch.optim.SGD(policy.parameters(), lr=0.5)
    ids = torch.tensor([list(range(5, 40))])
    policy(input_ids=ids, labels=ids).loss.backward()
    optimizer.step()  # the policy changed: the kept states are stale now
    after = await _play(live, [list(c) for c in conversation], 1, options)
    stats = live.prefix_cache_stats
    assert stats.cleared == 1 and stats.hits == 0
    fresh = TransformersModel(policy, tiny_model.tokenizer, prefix_cache_tokens=0)
    expected = await _play(fresh, [list(c) for c in conversation], 1, options)
    _assert_same(after, expected)


async def test_memory_stays_under_the_budget(tiny_model: TransformersModel) -> None:
    reusing = _fresh(tiny_model, reuse=True, budget=120)
    await _play(reusing, _conversations(6), 2, SamplingOptions(max_tokens=8, seed=1))
    stats = reusing.prefix_cache_stats
    assert 0 < stats.tokens <= 120 and stats.evicted > 0
    reusing.clear_prefix_cache()
    assert reusing.prefix_cache_stats.entries == 0


def test_a_negative_budget_is_refused(tiny_model: TransformersModel) -> None:
    with pytest.raises(ConfigError, match="prefix_cache_tokens"):
        TransformersModel(tiny_model.model, tiny_model.tokenizer, prefix_cache_tokens=-1)


def test_sliding_window_models_do_not_reuse(tiny_model: TransformersModel) -> None:
    from transformers import Qwen2Config

    full = tiny_model.model.config
    sliding = Qwen2Config(
        **{
            **full.to_dict(),
            "use_sliding_window": True,
            "sliding_window": 8,
            "layer_types": ["sliding_attention"] * full.num_hidden_layers,
        }
    )
    assert supports_reuse(tiny_model.model)
    assert not supports_reuse(SimpleNamespace(config=sliding))
