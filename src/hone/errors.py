"""Every exception hone raises at an API boundary.

Inside the agent loop, mistakes the *model* makes (bad tool calls, malformed output, tool
failures) are values the model sees, never exceptions. The exceptions below are for the
*developer*: misuse, bad configuration, unreachable services, corrupt storage.

Hierarchy::

    HoneError
    ├── ConfigError                     bad configuration or API misuse
    │   ├── ModelSpecError              a model spec string that cannot be understood
    │   ├── ToolDefinitionError         a tool function that cannot become a schema
    │   ├── DuplicateToolError          two tools with one name
    │   └── TrainingConfigError         unknown loss type, G < 2, missing reward, ...
    ├── ModelError                      a model backend failed at its boundary
    │   ├── ModelConnectionError        server unreachable or timed out
    │   ├── ModelAuthError              wrong or missing API key
    │   ├── ModelNotFoundError          the server does not serve that model
    │   ├── ModelLoadError              a local checkpoint cannot be loaded
    │   │   └── ChatTemplateError       the tokenizer has no usable chat template
    │   ├── ContextOverflowError        the prompt does not fit the context window
    │   └── CapabilityError             the backend cannot give what was asked (token ids, ...)
    ├── GraphError                      graph definition or execution
    │   ├── GraphValidationError        raised by compile(): unknown nodes, no path to END, ...
    │   ├── InvalidUpdateError          an update the schema or channels reject
    │   ├── GraphRecursionError         the recursion limit was reached
    │   └── ResumeError                 nothing to resume, or an unknown interrupt id
    ├── ToolArgumentsError              arguments a tool's schema rejects (direct calls only;
    │                                   execute_tool_calls turns them into a ToolMessage)
    ├── CheckpointError                 storage of checkpoints
    │   ├── CheckpointNotFoundError     no such thread or checkpoint
    │   ├── CheckpointCorruptError      a stored row cannot be decoded
    │   └── CheckpointVersionError      a row written by a newer format version
    ├── TrajectoryError                 an episode that cannot be decoded or stored
    │   └── TrajectoryVersionError      an episode written by a newer schema version
    └── TrainingError                   a training run cannot go on
        └── PrefixPropertyError         a chat template rewrites earlier turns
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "CapabilityError",
    "ChatTemplateError",
    "CheckpointCorruptError",
    "CheckpointError",
    "CheckpointNotFoundError",
    "CheckpointVersionError",
    "ConfigError",
    "ContextOverflowError",
    "DuplicateToolError",
    "GraphError",
    "GraphRecursionError",
    "GraphValidationError",
    "HoneError",
    "InvalidUpdateError",
    "ModelAuthError",
    "ModelConnectionError",
    "ModelError",
    "ModelLoadError",
    "ModelNotFoundError",
    "ModelSpecError",
    "PrefixPropertyError",
    "ResumeError",
    "ToolArgumentsError",
    "ToolDefinitionError",
    "TrainingConfigError",
    "TrainingError",
    "TrajectoryError",
    "TrajectoryVersionError",
]


class HoneError(Exception):
    """Base class of every exception hone raises."""


class ConfigError(HoneError):
    """Bad configuration or misuse of the API."""


class ModelSpecError(ConfigError):
    """A model spec string that cannot be understood."""


class ToolDefinitionError(ConfigError):
    """A Python function or schema that cannot become a tool."""


class DuplicateToolError(ConfigError):
    """Two tools share one name."""


class TrainingConfigError(ConfigError):
    """A training configuration that cannot run."""


class ModelError(HoneError):
    """A model backend failed at its boundary."""


class ModelConnectionError(ModelError):
    """The model server cannot be reached, or did not answer in time."""


class ModelAuthError(ModelError):
    """The model server refused the API key."""


class ModelNotFoundError(ModelError):
    """The model server does not serve the requested model."""


class ModelLoadError(ModelError):
    """A local checkpoint cannot be loaded."""


class ChatTemplateError(ModelLoadError):
    """The tokenizer has no chat template, or one that cannot render the request."""


class ContextOverflowError(ModelError):
    """The prompt does not fit in the model's context window."""


class CapabilityError(ModelError):
    """The backend cannot provide what was asked of it (token ids, logprobs, ...)."""


class GraphError(HoneError):
    """A graph that cannot be built or run."""


class GraphValidationError(GraphError):
    """A graph definition error found by ``compile()``."""


class InvalidUpdateError(GraphError):
    """A state update the schema or a channel rejects."""


class GraphRecursionError(GraphError):
    """The run reached its recursion limit before reaching END."""


class ResumeError(GraphError):
    """A resume that has nothing to resume, or names an unknown interrupt."""


class ToolArgumentsError(HoneError):
    """Arguments that a tool's parameter schema rejects.

    Raised only when a tool is invoked directly (``await tool.ainvoke(...)``); inside the agent
    loop, ``execute_tool_calls`` turns it into an error ``ToolMessage`` the model can act on.
    ``problems`` lists one line per rejected field.
    """

    def __init__(self, tool_name: str, problems: Sequence[str]) -> None:
        self.tool_name = tool_name
        self.problems = tuple(problems)
        lines = "\n".join(f"- {p}" for p in self.problems)
        super().__init__(f"invalid arguments for tool {tool_name!r}:\n{lines}")

    def __reduce__(self) -> tuple[type[ToolArgumentsError], tuple[str, tuple[str, ...]]]:
        return (type(self), (self.tool_name, self.problems))


class CheckpointError(HoneError):
    """Checkpoint storage failed."""


class CheckpointNotFoundError(CheckpointError):
    """No such thread or checkpoint."""


class CheckpointCorruptError(CheckpointError):
    """A stored checkpoint cannot be decoded."""


class CheckpointVersionError(CheckpointError):
    """A stored checkpoint was written by a newer storage format than this hone reads."""


class TrajectoryError(HoneError):
    """An episode (trajectory) that cannot be decoded or stored."""


class TrajectoryVersionError(TrajectoryError):
    """An episode written by a newer trajectory schema version than this hone reads."""


class TrainingError(HoneError):
    """A training run that cannot go on."""


class PrefixPropertyError(TrainingError):
    """A chat template that rewrites earlier turns, so token ids cannot be appended."""
