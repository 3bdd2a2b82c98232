"""The contract checks (see :mod:`hone.serve.contract`)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from hone.messages import to_messages
from hone.models._openai import OpenAICompatibleModel
from hone.models._protocol import ChatRequest, Completion, ModelBackend, SamplingOptions
from hone.models.conformance._harness import expect

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

_PROMPT = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Name three prime numbers."},
]


@dataclass(frozen=True)
class ServerHarness:
    """The server under test and what to compare it with.

    Attributes:
        base_url: its API root (``http://host:port/v1``).
        base_model: the id it serves the base model under.
        adapters: at least two adapter folders the *server* can read, by a short name;
            the checks load them under names of their own and unload them afterwards.
        reference: a local backend for the base (``None``) or for an adapter's name; its
            greedy ids and logprobs are what the server must reproduce. None skips parity.
        tolerance: the largest logprob difference accepted against the reference (1e-4
            for the same float32 CPU model; a bf16 GPU server needs about 5e-2).
        exact_ids: whether greedy ids must equal the reference's (a bf16 server may pick
            another token at a near tie; then only the shared prefix is compared).
        max_tokens: tokens per request.
        api_key: the server's key, if any.
        concurrency: the fewest requests ``publish_under_load`` sends (one every 10 ms,
            from before the publish until after it).
    """

    base_url: str
    base_model: str
    adapters: Mapping[str, str | Path] = field(default_factory=dict)
    reference: Callable[[str | None], ModelBackend] | None = None
    tolerance: float = 1e-4
    exact_ids: bool = True
    max_tokens: int = 12
    api_key: str | None = None
    concurrency: int = 8

    @property
    def root(self) -> str:
        """The server's root URL (``base_url`` without ``/v1``)."""
        return self.base_url.rstrip("/").removesuffix("/v1")

    def client(self) -> httpx.AsyncClient:
        """An HTTP client for the server's root."""
        headers = {"authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        return httpx.AsyncClient(base_url=self.root, timeout=120.0, headers=headers)

    def model(self, name: str) -> OpenAICompatibleModel:
        """An OpenAI-compatible client of ``name`` on the server."""
        return OpenAICompatibleModel(
            name, base_url=self.base_url, api_key=self.api_key or "EMPTY", max_retries=0
        )


@dataclass(frozen=True, slots=True)
class ContractResult:
    """How one check went.

    Attributes:
        name: the check.
        ok: it passed (False also when it could not run: see ``error``).
        seconds: its wall time.
        error: what failed, or why it was skipped.
        skipped: the harness lacked what it needs.
        measurements: numbers it measured (e.g. ``swap_latency_s``).
    """

    name: str
    ok: bool
    seconds: float
    error: str = ""
    skipped: bool = False
    measurements: Mapping[str, float] = field(default_factory=dict)

    def line(self) -> str:
        """One line for a report."""
        status = "skip" if self.skipped else ("ok" if self.ok else "FAIL")
        numbers = " ".join(f"{k}={v:.4g}" for k, v in self.measurements.items())
        tail = f" ({self.error})" if self.error else ""
        return f"{status:4} {self.name:20} {self.seconds:6.2f}s {numbers}{tail}"


class _Skip(Exception):
    """The harness lacks what a check needs."""


#: One check: runs against the harness's server, returns what it measured, raises
#: ``AssertionError`` on a failure.
Check = Callable[[ServerHarness], Awaitable[dict[str, float]]]


def _greedy(harness: ServerHarness) -> ChatRequest:
    """The checks' request: greedy, with ids and logprobs."""
    options = SamplingOptions(
        max_tokens=harness.max_tokens,
        temperature=0.0,
        logprobs=True,
        return_token_ids=True,
        seed=0,
    )
    return ChatRequest(messages=tuple(to_messages(_PROMPT)), options=options)


def _compare(served: Completion, local: Completion, harness: ServerHarness, what: str) -> float:
    """Assert the served completion matches the local one; return the largest logprob gap."""
    expect(served.prompt_token_ids is not None, f"{what}: the server sent no prompt_token_ids")
    expect(served.token_ids is not None, f"{what}: the server sent no token_ids")
    expect(served.logprobs is not None, f"{what}: the server sent no logprobs")
    expect(
        served.prompt_token_ids == local.prompt_token_ids,
        f"{what}: prompt ids differ from the local backend's (chat template?): "
        f"{served.prompt_token_ids} vs {local.prompt_token_ids}",
    )
    ours, theirs = served.token_ids or (), local.token_ids or ()
    if harness.exact_ids:
        expect(ours == theirs, f"{what}: sampled ids differ: {ours} vs {theirs}")
    shared = 0
    while shared < min(len(ours), len(theirs)) and ours[shared] == theirs[shared]:
        shared += 1
    expect(shared > 0, f"{what}: the first sampled token differs: {ours[:1]} vs {theirs[:1]}")
    gaps = [
        abs(a - b)
        for a, b in zip(
            (served.logprobs or ())[:shared], (local.logprobs or ())[:shared], strict=True
        )
    ]
    worst = max(gaps, default=0.0)
    expect(
        worst <= harness.tolerance,
        f"{what}: logprobs differ by {worst:.3g} > {harness.tolerance} from the local backend's",
    )
    return worst


async def _load(client: httpx.AsyncClient, name: str, path: str | Path) -> float:
    started = time.perf_counter()
    response = await client.post(
        "/v1/load_lora_adapter", json={"lora_name": name, "lora_path": str(path)}
    )
    expect(response.status_code == 200, f"loading {name}: {response.status_code} {response.text}")
    return time.perf_counter() - started


async def _unload(client: httpx.AsyncClient, name: str) -> None:
    response = await client.post("/v1/unload_lora_adapter", json={"lora_name": name})
    expect(response.status_code == 200, f"unloading {name}: {response.status_code} {response.text}")


def _two_adapters(harness: ServerHarness) -> list[tuple[str, str | Path]]:
    if len(harness.adapters) < 2:
        raise _Skip("needs two adapter folders (ServerHarness.adapters)")
    return list(harness.adapters.items())[:2]


async def check_token_ids(harness: ServerHarness) -> dict[str, float]:
    """Exact ids and raw logprobs from the server, equal to the local backend's."""
    served = await harness.model(harness.base_model).complete(_greedy(harness))
    expect(bool(served.token_ids), "the server returned no sampled token ids")
    expect(
        len(served.logprobs or ()) == len(served.token_ids or ()),
        "one logprob per sampled token expected",
    )
    if harness.reference is None:
        return {}
    local = await harness.reference(None).complete(_greedy(harness))
    return {"max_logprob_gap": _compare(served, local, harness, "base model")}


async def check_adapter_parity(harness: ServerHarness) -> dict[str, float]:
    """Through a runtime-loaded adapter, the ids and logprobs of the adapter's local model."""
    if harness.reference is None:
        raise _Skip("needs a local reference backend")
    (short, path), _ = _two_adapters(harness)
    name = f"contract-{short}"
    async with harness.client() as client:
        await _load(client, name, path)
        try:
            served = await harness.model(name).complete(_greedy(harness))
        finally:
            await _unload(client, name)
    local = await harness.reference(short).complete(_greedy(harness))
    return {"max_logprob_gap": _compare(served, local, harness, f"adapter {short}")}


async def check_load_unload(harness: ServerHarness) -> dict[str, float]:
    """Load two adapters, pick each by ``model=``, unload one (then it is unknown), and see
    a folder that holds no adapter refused. Measures the load (swap) latency."""
    (a, path_a), (b, path_b) = _two_adapters(harness)
    names = {a: f"contract-{a}", b: f"contract-{b}"}
    latencies: list[float] = []
    async with harness.client() as client:
        for _ in range(3):
            latencies.append(await _load(client, names[a], path_a))
            await _unload(client, names[a])
        latencies.append(await _load(client, names[a], path_a))
        latencies.append(await _load(client, names[b], path_b))
        try:
            listed = (await client.get("/v1/models")).json()
            ids = {m["id"] for m in listed.get("data", [])}
            expect(set(names.values()) <= ids, f"/v1/models lists {sorted(ids)}")
            for name in names.values():
                reply = await harness.model(name).complete(_greedy(harness))
                expect(bool(reply.token_ids), f"{name}: no token ids")
            await _unload(client, names[a])
            unknown = await client.post(
                "/v1/chat/completions",
                json={"model": names[a], "messages": _PROMPT, "max_tokens": 2},
            )
            expect(
                unknown.status_code in (400, 404),
                f"a request for an unloaded adapter got {unknown.status_code}, not 404/400",
            )
            bad = await client.post(
                "/v1/load_lora_adapter",
                json={"lora_name": "contract-bad", "lora_path": "/nonexistent/adapter"},
            )
            expect(bad.status_code >= 400, f"a missing adapter folder loaded ({bad.status_code})")
        finally:
            await client.post("/v1/unload_lora_adapter", json={"lora_name": names[a]})
            await client.post("/v1/unload_lora_adapter", json={"lora_name": names[b]})
    return {
        "swap_latency_s": statistics.median(latencies),
        "swap_latency_max_s": max(latencies),
    }


async def check_pause_resume(harness: ServerHarness) -> dict[str, float]:
    """A request sent while paused waits for ``/resume``, then completes."""
    async with harness.client() as client:
        paused = await client.post("/pause", params={"mode": "wait"})
        expect(paused.status_code == 200, f"/pause answered {paused.status_code}: {paused.text}")
        try:
            state = (await client.get("/is_paused")).json()
            expect(state.get("is_paused") is True, f"/is_paused says {state}")
            pending = asyncio.ensure_future(
                harness.model(harness.base_model).complete(_greedy(harness))
            )
            await asyncio.sleep(0.5)
            expect(not pending.done(), "a request sent while paused was answered before /resume")
        finally:
            resumed = await client.post("/resume")
        expect(resumed.status_code == 200, f"/resume answered {resumed.status_code}")
        started = time.perf_counter()
        completion = await asyncio.wait_for(pending, timeout=120.0)
        expect(bool(completion.token_ids), "the held request finished without token ids")
    return {"resume_to_reply_s": time.perf_counter() - started}


async def check_publish_under_load(harness: ServerHarness) -> dict[str, float]:
    """Publish a new adapter version while requests are in flight: all complete, each on
    the old or the new version."""
    from hone.train._publish import LoRAPublisher  # hone.train imports torch: only here

    (_, path_a), (_, path_b) = _two_adapters(harness)
    policy = harness.model(harness.base_model)
    publisher = LoRAPublisher(
        harness.base_url,
        base_name="contract-policy",
        folder=Path(path_a).parent,
        policy=policy,
        keep=2,
        api_key=harness.api_key,
    )
    try:
        await asyncio.to_thread(publisher.publish_folder, path_a, 1)
        expect(policy.policy_version == 1, "the policy client was not switched to version 1")
        replies: list[asyncio.Future[Completion]] = []
        stop = asyncio.Event()

        async def traffic() -> None:  # a request every 10 ms until told to stop
            while not stop.is_set() or len(replies) < harness.concurrency:
                replies.append(asyncio.ensure_future(policy.complete(_greedy(harness))))
                await asyncio.sleep(0.01)

        flow = asyncio.ensure_future(traffic())
        await asyncio.sleep(0.1)  # requests on version 1 in flight
        published = await asyncio.to_thread(publisher.publish_folder, path_b, 2)
        await asyncio.sleep(0.1)  # and some on version 2
        stop.set()
        await flow
        done = await asyncio.gather(*replies, return_exceptions=True)
        failures = [r for r in done if isinstance(r, BaseException)]
        expect(not failures, f"{len(failures)} of {len(done)} requests failed: {failures[:1]}")
        versions = [r.policy_version for r in done if isinstance(r, Completion)]
        expect(
            set(versions) == {1, 2},
            f"replies came from versions {sorted(set(versions), key=str)}, not both 1 and 2",
        )
        models = {r.model for r in done if isinstance(r, Completion)}
        expect(
            models == {"contract-policy-v1", "contract-policy-v2"},
            f"replies named models {sorted(models)}",
        )
        expect(policy.policy_version == 2, "the policy client was not switched to version 2")
    finally:
        async with harness.client() as client:
            for version in (1, 2):
                await client.post(
                    "/v1/unload_lora_adapter", json={"lora_name": f"contract-policy-v{version}"}
                )
        publisher.close()
    return {
        "publish_s": published.seconds,
        "requests": float(len(replies)),
        "on_old_version": float(sum(v == 1 for v in versions)),
        "on_new_version": float(sum(v == 2 for v in versions)),
    }


#: Every check by name, in the order :func:`arun_contract` runs them.
CONTRACT_CHECKS: dict[str, Check] = {
    "token_ids": check_token_ids,
    "adapter_parity": check_adapter_parity,
    "load_unload": check_load_unload,
    "pause_resume": check_pause_resume,
    "publish_under_load": check_publish_under_load,
}


async def arun_contract(
    harness: ServerHarness, names: list[str] | None = None
) -> list[ContractResult]:
    """Run the checks (all, or ``names``) one after another; never raises for a failed one."""
    results = []
    for name in names or list(CONTRACT_CHECKS):
        started = time.perf_counter()
        try:
            measured = await CONTRACT_CHECKS[name](harness)
        except _Skip as exc:
            results.append(ContractResult(name, False, 0.0, str(exc), skipped=True))
            continue
        except Exception as exc:  # a check's failure is its result
            error = f"{type(exc).__name__}: {exc}"
            results.append(ContractResult(name, False, time.perf_counter() - started, error))
            continue
        results.append(
            ContractResult(name, True, time.perf_counter() - started, "", False, measured)
        )
    return results


def failures(results: list[ContractResult]) -> list[ContractResult]:
    """The results that failed (skips are not failures)."""
    return [r for r in results if not r.ok and not r.skipped]
