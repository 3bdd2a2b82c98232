"""Many LoRA adapters over one base: exact parity with merged copies, mixed-adapter batches in
one generation, the LRU bound, and the errors of registering and requesting adapters."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hone.errors import ConfigError, ModelLoadError, ModelNotFoundError
from hone.models import make_request
from hone.models._protocol import ChatRequest, SamplingOptions
from hone.models._transformers import TransformersModel
from hone.serve import AdapterPool

from ._lora_fixtures import build_adapter, build_base, merged_model


@pytest.fixture(scope="module")
def lora_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("lora")
    base = build_base(root / "base")
    return {
        "base": base,
        "a": build_adapter(base, root / "a", seed=1),
        "b": build_adapter(base, root / "b", seed=2),
    }


def greedy(text: str, max_tokens: int = 10) -> ChatRequest:
    options = SamplingOptions(max_tokens=max_tokens, temperature=0.0)
    return make_request([("user", text)], options=options)


async def test_mixed_adapter_batch_matches_merged_copies(lora_dirs: dict[str, Path]) -> None:
    pool = AdapterPool(TransformersModel.from_pretrained(lora_dirs["base"]), max_wait_ms=50)
    await pool.register("a", lora_dirs["a"])
    await pool.register("b", lora_dirs["b"])
    before = pool.stats.generations
    rows = [(None, "count to three"), ("a", "count to three"), ("b", "hello there")]
    served = await asyncio.gather(*(pool.backend(n).complete(greedy(t)) for n, t in rows))
    assert pool.stats.generations == before + 1  # one batched generation for three adapters
    for (adapter, text), completion in zip(rows, served, strict=True):
        folder = lora_dirs[adapter] if adapter else None
        alone = await merged_model(lora_dirs["base"], folder).complete(greedy(text))
        assert completion.token_ids == alone.token_ids
        assert completion.prompt_token_ids == alone.prompt_token_ids
        gaps = [
            abs(x - y) for x, y in zip(completion.logprobs or (), alone.logprobs or (), strict=True)
        ]
        assert max(gaps) < 1e-4
        assert completion.model == (adapter or pool.base.name)
    assert served[1].logprobs != served[0].logprobs  # the adapter changes the same prompt's reply


async def test_lru_bound_reloads_on_demand(lora_dirs: dict[str, Path]) -> None:
    pool = AdapterPool(TransformersModel.from_pretrained(lora_dirs["base"]), max_loaded=1)
    await pool.register("a", lora_dirs["a"])
    await pool.register("b", lora_dirs["b"])  # evicts a
    assert pool.stats.loaded == ("b",)
    first = await pool.backend("a").complete(greedy("hi"))  # loads a again, evicts b
    assert pool.stats.loaded == ("a",)
    assert pool.stats.evictions == 2 and pool.stats.loads == 3
    again = await pool.backend("a").complete(greedy("hi"))
    assert again.token_ids == first.token_ids
    await pool.unregister("a")
    with pytest.raises(ModelNotFoundError, match="loaded: b"):
        pool.backend("a")


async def test_registration_errors_are_precise(lora_dirs: dict[str, Path], tmp_path: Path) -> None:
    pool = AdapterPool(TransformersModel.from_pretrained(lora_dirs["base"]))
    with pytest.raises(ModelLoadError, match=r"no adapter_config\.json"):
        await pool.register("x", tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "adapter_config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelLoadError, match="cannot load the LoRA adapter"):
        await pool.register("x", broken)
    assert pool.names() == []
    await pool.register("a", lora_dirs["a"])
    with pytest.raises(ConfigError, match="already loaded"):
        await pool.register("a", lora_dirs["b"])
    with pytest.raises(ConfigError, match="reserved"):
        await pool.register("__base__", lora_dirs["b"])
    with pytest.raises(ModelNotFoundError, match="no LoRA adapter named 'zzz'"):
        await pool.unregister("zzz")
    with pytest.raises(ConfigError, match="max_loaded"):
        AdapterPool(pool.base, max_loaded=0)


async def test_load_inplace_replaces_the_weights(lora_dirs: dict[str, Path]) -> None:
    pool = AdapterPool(TransformersModel.from_pretrained(lora_dirs["base"]))
    await pool.register("live", lora_dirs["a"])
    on_a = await pool.backend("live").complete(greedy("count to three"))
    await pool.register("live", lora_dirs["b"], replace_existing=True)
    on_b = await pool.backend("live").complete(greedy("count to three"))
    direct_b = await merged_model(lora_dirs["base"], lora_dirs["b"]).complete(
        greedy("count to three")
    )
    assert on_b.token_ids == direct_b.token_ids
    assert on_a.logprobs != on_b.logprobs
