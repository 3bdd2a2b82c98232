"""Rewards: score groups of episodes (all rollouts of one task) for training.

* :func:`reward_fn` — a programmatic reward from a function of one episode;
* :class:`StepPenalty`, :class:`FormatPenalty`, :class:`TruncationPenalty` — penalties for long
  or malformed episodes, or calls cut off at ``max_tokens``;
* :class:`WeightedSum`, :class:`HybridReward` — combinations (correctness-gated judging);
* :func:`only_when` — a reward given only to the episodes a condition accepts (a judge
  rewarded only where its candidates differ in correctness);
* :class:`GroupJudge` — an LLM judge that compares the rollouts of a task (RULER-style),
  with shuffled repeats and a variance estimate.

A reward that cannot be computed is ``RewardResult(value=None, error=...)``, never 0.
"""

from hone.rewards._combine import HybridReward, WeightedSum
from hone.rewards._gate import OnlyWhen, only_when
from hone.rewards._judge import DEFAULT_RUBRIC, GroupJudge, common_prefix_length, render_messages
from hone.rewards._programmatic import (
    FormatPenalty,
    FunctionReward,
    StepPenalty,
    TruncationPenalty,
    reward_fn,
)
from hone.rewards._protocol import Reward, RewardResult

__all__ = [
    "DEFAULT_RUBRIC",
    "FormatPenalty",
    "FunctionReward",
    "GroupJudge",
    "HybridReward",
    "OnlyWhen",
    "Reward",
    "RewardResult",
    "StepPenalty",
    "TruncationPenalty",
    "WeightedSum",
    "common_prefix_length",
    "only_when",
    "render_messages",
    "reward_fn",
]
