"""The generation-server contract hone's RL path relies on, as checks any server can run.

The same checks run in CI against ``hone serve`` (an :class:`~hone.serve.AdapterPool` over the
tiny model, on loopback) and, from ``scripts/vllm_check.py``, against a real vLLM server on a
GPU. They speak only HTTP (the server may live in another environment)::

    from hone.serve.contract import ServerHarness, arun_contract

    harness = ServerHarness(
        base_url="http://127.0.0.1:8000/v1",
        base_model="Qwen/Qwen3-0.6B",
        adapters={"a": "/shared/adapters/a", "b": "/shared/adapters/b"},
        reference=lambda adapter: my_local_backend(adapter),   # parity; None to skip
    )
    for result in await arun_contract(harness):
        print(result.line())

Checks: ``token_ids`` (exact prompt/sampled ids and logprobs, equal to the local backend's),
``adapter_parity`` (the same through a runtime-loaded LoRA adapter), ``load_unload`` (load,
list, pick by ``model=``, unload, a bad folder refused; swap latency measured),
``pause_resume`` (a request sent while paused waits for ``/resume``) and
``publish_under_load`` (a :class:`~hone.train.LoRAPublisher` publishes a new version while
requests are in flight: every request completes, on the old or the new version, none lost).
Each raises ``AssertionError`` with what differed; :func:`arun_contract` collects them.
"""

from hone.serve.contract._checks import (
    CONTRACT_CHECKS,
    Check,
    ContractResult,
    ServerHarness,
    arun_contract,
    check_adapter_parity,
    check_load_unload,
    check_pause_resume,
    check_publish_under_load,
    check_token_ids,
    failures,
)

__all__ = [
    "CONTRACT_CHECKS",
    "Check",
    "ContractResult",
    "ServerHarness",
    "arun_contract",
    "check_adapter_parity",
    "check_load_unload",
    "check_pause_resume",
    "check_publish_under_load",
    "check_token_ids",
    "failures",
]
