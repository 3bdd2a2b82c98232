"""The generation-server contract (hone.serve.contract) against ``hone serve`` on loopback: an
AdapterPool over the tiny model, compared with local backends (the base, and each adapter
merged into its own copy). scripts/vllm_check.py runs the same checks against vLLM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hone.models._transformers import TransformersModel
from hone.serve import AdapterPool, create_app, running_server
from hone.serve.contract import CONTRACT_CHECKS, ServerHarness, arun_contract, failures

from ._lora_fixtures import build_adapter, build_base, merged_model


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHarness]:
    root = tmp_path_factory.mktemp("contract")
    base = build_base(root / "base")
    adapters = {
        "a": build_adapter(base, root / "adapters" / "a", seed=1),
        "b": build_adapter(base, root / "adapters" / "b", seed=2),
    }
    model = TransformersModel.from_pretrained(base)
    app = create_app(model, model_name="tiny", adapters=AdapterPool(model, max_loaded=4))
    references: dict[str | None, TransformersModel] = {}

    def reference(adapter: str | None) -> TransformersModel:
        if adapter not in references:
            references[adapter] = merged_model(base, adapters[adapter] if adapter else None)
        return references[adapter]

    with running_server(app) as url:
        yield ServerHarness(base_url=url, base_model="tiny", adapters=adapters, reference=reference)


async def test_hone_serve_meets_the_contract(harness: ServerHarness) -> None:
    results = await arun_contract(harness)
    for result in results:
        print(result.line())  # swap latency and publish time, shown with -s
    assert [r.name for r in results] == list(CONTRACT_CHECKS)
    assert not failures(results), "\n".join(r.line() for r in failures(results))
    assert not [r for r in results if r.skipped]
    by_name = {r.name: r for r in results}
    assert by_name["load_unload"].measurements["swap_latency_s"] > 0
    published = by_name["publish_under_load"].measurements
    assert published["requests"] >= harness.concurrency
    assert published["on_old_version"] > 0 and published["on_new_version"] > 0


async def test_the_contract_reports_a_server_that_breaks_it(harness: ServerHarness) -> None:
    # A reference that disagrees (another adapter's model) must fail the parity check,
    # with the difference named.
    def wrong(adapter: str | None) -> TransformersModel:
        return harness.reference("b") if harness.reference else None  # type: ignore[return-value]

    broken = ServerHarness(
        base_url=harness.base_url,
        base_model="tiny",
        adapters=harness.adapters,
        reference=wrong,
    )
    results = await arun_contract(broken, ["token_ids"])
    assert not results[0].ok and "differ" in results[0].error
    missing = await arun_contract(ServerHarness(base_url=harness.base_url, base_model="tiny"))
    assert {r.name for r in missing if r.skipped} == {
        "adapter_parity",
        "load_unload",
        "publish_under_load",
    }


def test_harness_paths(harness: ServerHarness) -> None:
    assert harness.root.endswith(str(harness.base_url.split(":")[-1]).removesuffix("/v1"))
    assert isinstance(next(iter(harness.adapters.values())), Path)
