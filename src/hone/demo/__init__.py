"""``hone demo``: a tiny model learns a tool-using task by SFT on a teacher, then RL.

The task is countdown with a calculator (:mod:`hone.demo.countdown`); the agent is hone's own
agent loop; the pipeline (:func:`arun_demo`) uses hone's rollouts, trainer and evaluation.
"""

from hone.demo._agent import (
    CountdownAgent,
    countdown_reward,
    submitted_expression,
    task_from_record,
    task_record,
)
from hone.demo._behaviour import Behaviour, behaviour
from hone.demo._config import DemoConfig
from hone.demo._pipeline import DemoProgress, DemoResult, arun_demo
from hone.demo._teacher import CountdownTeacher

__all__ = [
    "Behaviour",
    "CountdownAgent",
    "CountdownTeacher",
    "DemoConfig",
    "DemoProgress",
    "DemoResult",
    "arun_demo",
    "behaviour",
    "countdown_reward",
    "submitted_expression",
    "task_from_record",
    "task_record",
]
