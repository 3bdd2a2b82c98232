"""The function API: ``arun_rlm`` / ``run_rlm`` run one RLM over a context and a question."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hone._sync import run_sync
from hone.errors import ConfigError
from hone.interop._model import ModelLike
from hone.rlm._config import RLMConfig
from hone.rlm._loop import run_level
from hone.rlm._result import RLMResult
from hone.rlm._roles import resolve_role_models
from hone.rlm._spend import Spend
from hone.rlm._subcalls import Shared
from hone.sandbox import ProcessSandbox, Sandbox

__all__ = ["arun_rlm", "check_input", "run_rlm"]


def check_input(context: Any, question: Any) -> None:
    """Check an RLM's input at the boundary.

    Raises:
        ConfigError: ``question`` is not a non-empty string, or ``context`` is not JSON (a
            str, a list, a dict, numbers, booleans, None).
    """
    if not isinstance(question, str) or not question.strip():
        raise ConfigError(f"an RLM's question must be a non-empty str, got {question!r:.80}")
    try:
        json.dumps(context)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"an RLM's context must be JSON (a str, list or dict of JSON values): {exc}"
        ) from exc


async def arun_rlm(
    model: ModelLike | None,
    context: Any,
    question: str,
    *,
    sub_model: ModelLike | None = None,
    config: RLMConfig | None = None,
    sandbox: Sandbox | None = None,
) -> RLMResult:
    """Answer ``question`` about ``context`` with a recursive language model (RLM).

    ``context`` (a str of any length, or a list or dict of JSON values) becomes the variable
    ``context`` in a sandbox session; the root model never sees it, only what the code it
    writes prints. The code calls ``llm_query(prompt)``, ``llm_query_batched(prompts)``
    (concurrent, capped by ``config.concurrency``) and ``rlm_query(prompt, context)`` (a
    sub-RLM, to ``config.max_depth``); the run ends when the code sets
    ``answer["ready"] = True``, or when a budget (``config.budget``) ends it. Every model
    call is made under its role (``rlm``, ``llm_query``, ``rlm@1``, ...; see
    :func:`rlm_roles`), so inside a rollout each role's calls become its own episode.

    Args:
        model: the root model (a backend, a spec string, a LangChain chat model); None: the
            run gives it (:func:`hone.graph.use_model`, a rollout).
        context: the long input.
        question: what to answer about it.
        sub_model: the model of ``llm_query`` calls (None: ``model``).
        config: budgets, depth, concurrency, sampling (:class:`RLMConfig`).
        sandbox: where the code runs (default: a :class:`~hone.sandbox.ProcessSandbox`
            with every layer the platform has).

    Returns:
        An :class:`RLMResult`: the answer, whether the code marked it ready, why the run
        stopped, the root conversation, each step, and what was spent.

    Raises:
        ConfigError: a bad question or context, or a role without a model.
        SandboxStartError: the sandbox cannot start.
        ModelError: a root-model call failed at its boundary (a connection, a missing
            model); a prompt outgrowing the context window ends the run instead.
    """
    config = config or RLMConfig()
    check_input(context, question)
    models = resolve_role_models(model, sub_model, config.max_depth)
    shared = Shared(
        config=config,
        models=models,
        spend=Spend(config.budget),
        gate=asyncio.Semaphore(config.concurrency),
        sandbox=sandbox or ProcessSandbox(),
    )
    return await run_level(shared, 0, context, question)


def run_rlm(
    model: ModelLike | None,
    context: Any,
    question: str,
    *,
    sub_model: ModelLike | None = None,
    config: RLMConfig | None = None,
    sandbox: Sandbox | None = None,
) -> RLMResult:
    """The synchronous shell of :func:`arun_rlm`.

    ::

        from hone.models import ScriptedModel
        from hone.rlm import run_rlm

        coder = ScriptedModel(["```python\\nanswer['content'] = len(context)\\n"
                               "answer['ready'] = True\\n```"])
        print(run_rlm(coder, "x" * 1_000_000, "How long is it?").answer)   # 1000000
    """
    return run_sync(
        arun_rlm(model, context, question, sub_model=sub_model, config=config, sandbox=sandbox)
    )
