"""Recursive language models (RLM) over huge contexts (docs/rlm.md).

::

    from hone.models import ScriptedModel
    from hone.rlm import run_rlm

    coder = ScriptedModel([
        "```python\\nprint(context.count('needle'))\\n```",
        "```python\\nanswer['content'] = context.count('needle')\\nanswer['ready'] = True\\n```",
    ])
    result = run_rlm(coder, "hay " * 250_000 + "needle", "How many needles?")
    print(result.answer, result.stop_reason)    # 1 answered

The context (millions of characters, or a list or dict of JSON values) is the variable
``context`` in a sandbox session and never goes to the model whole. The root model writes
one Python block per turn (generation stops at the block's closing fence) and sees only what
the block printed, cut to ``RLMConfig.output_chars`` with a note of how much was cut. The
code calls ``llm_query(prompt)``, ``llm_query_batched(prompts)`` (concurrent, under a cap)
and ``rlm_query(prompt, context)`` (a sub-RLM, to a depth limit), all served on the host.
The run ends when the code sets ``answer["ready"] = True`` — a variable read back from the
session, not a text convention — or when a budget (turns, sub-calls, characters per
sub-prompt, tokens, time) ends it, with the reason recorded. Every model call is made under
its role (:func:`rlm_roles`), so rollouts record one episode per role and RLM runs train.
"""

from hone.rlm._api import arun_rlm, run_rlm
from hone.rlm._config import RLMBudget, RLMConfig
from hone.rlm._graph import RLMState, create_rlm_agent
from hone.rlm._prompt import CODE_STOP, RLM_PROMPT, describe_context
from hone.rlm._result import (
    Refusal,
    RefusalReason,
    RLMResult,
    RLMStep,
    RLMStopReason,
    RLMUsage,
    RoleUsage,
    StepStatus,
)
from hone.rlm._roles import rlm_roles

__all__ = [
    "CODE_STOP",
    "RLM_PROMPT",
    "RLMBudget",
    "RLMConfig",
    "RLMResult",
    "RLMState",
    "RLMStep",
    "RLMStopReason",
    "RLMUsage",
    "Refusal",
    "RefusalReason",
    "RoleUsage",
    "StepStatus",
    "arun_rlm",
    "create_rlm_agent",
    "describe_context",
    "rlm_roles",
    "run_rlm",
]
