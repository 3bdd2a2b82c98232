"""Run model-written code in a confined worker process (docs/sandbox.md).

::

    from hone.sandbox import ProcessSandbox

    with ProcessSandbox().start({"lookup": lambda key: {"a": 1}.get(key)}) as session:
        session.run("x = lookup('a') + 1")
        result = session.run("print(x)")
        print(result.output)                # 2
        print(session.report.summary())     # every layer: applied, or why not

A session is a persistent worker (variables survive between code blocks) that speaks JSON
lines over pipes; what the code calls by name runs on the host (:class:`HostFunction`:
tools, model sub-calls), so the worker needs no network and sees no secrets. Each layer of
confinement is detected, applied where the platform has it, and reported
(:class:`SandboxReport`): a new session and process group killed as a whole, the
parent-death signal, no-new-privileges, an allow-listed environment, a scratch folder,
resource limits, bounded output; a fresh unprivileged uid when the host is root; Landlock;
a seccomp filter; and namespaces through bubblewrap. What the code does wrong (errors,
timeouts, crashes, escapes) comes back as an :class:`ExecResult`; only the developer's
misuse raises.
"""

from hone.errors import (
    SandboxBusyError,
    SandboxEndedError,
    SandboxError,
    SandboxStartError,
    SandboxValueError,
)
from hone.sandbox._config import DEFAULT_INHERITED_ENV, Layers, Limits, SandboxConfig
from hone.sandbox._functions import HostFunction, host_functions, tool_functions
from hone.sandbox._process import ProcessSandbox, ProcessSession
from hone.sandbox._protocol import ExecError, ExecResult, ExecStatus, Sandbox, SandboxSession
from hone.sandbox._report import LAYERS, LayerName, LayerStatus, SandboxReport

__all__ = [
    "DEFAULT_INHERITED_ENV",
    "LAYERS",
    "ExecError",
    "ExecResult",
    "ExecStatus",
    "HostFunction",
    "LayerName",
    "LayerStatus",
    "Layers",
    "Limits",
    "ProcessSandbox",
    "ProcessSession",
    "Sandbox",
    "SandboxBusyError",
    "SandboxConfig",
    "SandboxEndedError",
    "SandboxError",
    "SandboxReport",
    "SandboxSession",
    "SandboxStartError",
    "SandboxValueError",
    "host_functions",
    "tool_functions",
]
