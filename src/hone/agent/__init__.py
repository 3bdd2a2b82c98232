"""The minimal tool-using agent loop."""

from hone.agent._loop import AgentOptions, arun_agent, run_agent

__all__ = ["AgentOptions", "arun_agent", "run_agent"]
