"""The exceptions ``hone.sandbox`` raises at its boundary (the developer's side).

What the *code* in a sandbox does wrong (errors, timeouts, crashes, escapes the layers
stop) is never raised: it comes back as an :class:`~hone.sandbox.ExecResult`. These are for
the developer: a sandbox that cannot start, a session used after it ended, a value that
cannot cross the boundary::

    HoneError
    └── SandboxError                  a sandbox cannot do what the developer asked
        ├── SandboxStartError         the worker did not start, or a required layer is missing
        ├── SandboxEndedError         the session's worker is gone (restart it)
        ├── SandboxBusyError          a second request while one runs on the same session
        └── SandboxValueError         a variable that is missing or is not a JSON value
"""

from __future__ import annotations

from hone.errors import HoneError

__all__ = [
    "SandboxBusyError",
    "SandboxEndedError",
    "SandboxError",
    "SandboxStartError",
    "SandboxValueError",
]


class SandboxError(HoneError):
    """A sandbox cannot do what the developer asked."""


class SandboxStartError(SandboxError):
    """The worker did not start, did not answer in time, or a layer the configuration
    requires (``Layers.require``) is missing on this platform."""


class SandboxEndedError(SandboxError):
    """The session's worker is gone (it crashed, was killed after a timeout, or the session
    was closed); ``arestart()`` starts a fresh one, with empty variables."""


class SandboxBusyError(SandboxError):
    """A request reached a session while another was running on it: a session runs one
    request at a time (start a second session for concurrent work)."""


class SandboxValueError(SandboxError):
    """A variable the session does not have, or a value that is not JSON (what crosses the
    boundary between the host and the worker)."""
