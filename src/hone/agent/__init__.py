"""The tool-using agent: the loop (``run_agent`` / ``arun_agent``) and the one step it shares
with the graph's ``create_react_agent`` (:class:`AgentStep`: same prompts, parse-error
feedback and final-answer turn), and why an agent stopped (:data:`StopReason`), reported as
data to whoever runs it (:func:`watch_stops`; rollouts record it on the episode)."""

from hone.agent._loop import AgentOptions, arun_agent, run_agent
from hone.agent._scope import AgentStop, StopReason, report_stop, watch_stops
from hone.agent._step import AgentStep, AgentTurn, FinalAnswer

__all__ = [
    "AgentOptions",
    "AgentStep",
    "AgentStop",
    "AgentTurn",
    "FinalAnswer",
    "StopReason",
    "arun_agent",
    "report_stop",
    "run_agent",
    "watch_stops",
]
