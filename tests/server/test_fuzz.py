"""The OpenAPI schema fuzzed with schemathesis: valid and invalid requests, a bounded number
per operation and mode. No request makes a 500, and every error has a JSON body.

Hypothesis drives schemathesis's strategies directly, one operation at a time, against a
server the test starts on a loopback port (schemathesis's ``parametrize`` would need the
schema, hence a server, while pytest collects). About 50 operations, two modes, ``EXAMPLES``
each: 20-50 s on 2 cores.

schemathesis imports its OpenAPI module lazily, on the first schema it loads; pytest rewrites
that module's asserts (schemathesis is a pytest plugin) with ``ast.parse``, which on CPython
3.11 can fail with "AST constructor recursion depth mismatch" while the server's threads run
beside it. So the module is imported here, at collection, before any server starts.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
import schemathesis.specs.openapi.schemas  # before any server thread runs (see above)
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from hone.server import running_server

from .conftest import make_config

#: Examples per operation and mode.
EXAMPLES = 10


def _fuzz(operation: schemathesis.APIOperation, mode: GenerationMode, problems: list[str]) -> None:
    @given(operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        response = case.call(headers={"x-api-key": "alice-key"}, timeout=30)
        where = f"{case.method} {case.formatted_path} ({mode.value})"
        if response.status_code >= 500:
            problems.append(f"{where}: {response.status_code} {response.text[:300]}")
        elif response.status_code >= 400:
            # schemathesis gives each header as a list of its values
            kind = " ".join(response.headers.get("content-type", []))
            body = response.json() if "json" in kind else {}
            if not (
                isinstance(body, dict) and isinstance(body.get("detail"), str) and body.get("code")
            ):
                problems.append(f"{where}: error without a JSON detail: {response.text[:300]}")

    try:
        check()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise  # an operation with nothing to invalidate has no negative cases: fine


@pytest.mark.slow
def test_no_request_crashes_the_server(tmp_path: Path) -> None:
    problems: list[str] = []
    with running_server(make_config(str(tmp_path / "fuzz.db"), keepalive_s=0.5)) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 40
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _fuzz(operation, mode, problems)
        assert httpx_ok(url)
    assert not problems, "\n".join(problems[:20])


def httpx_ok(url: str) -> bool:
    import httpx

    return httpx.get(f"{url}/ok").status_code == 200
