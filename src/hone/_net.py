"""The one way hone's servers (``hone serve``, ``hone server``) take their listening port.

The port is bound before anything else, so a port that is taken is reported at once, as an
error naming it, before a model or a graph is loaded.
"""

from __future__ import annotations

import errno
import socket

from hone.errors import ConfigError

__all__ = ["bind_port"]


def bind_port(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (``port=0``: a free one), ready for uvicorn.

    Raises:
        ConfigError: the port is in use, or the address cannot be bound (the message says
            which and why).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # The protocol is named, not left 0: asyncio turns Nagle's algorithm off (TCP_NODELAY)
    # only on sockets whose proto is IPPROTO_TCP, and the connections accepted here inherit
    # it. Without that, a response written in two parts (headers, then body) waits for the
    # client's delayed ACK: ~40 ms on every request over loopback.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    # As uvicorn does: a port left in TIME_WAIT by a stopped server can be bound again at
    # once; one another process listens on still cannot.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} is in use on {host}; stop what listens there or choose "
                "another port (--port N)"
            ) from exc
        reason = exc.strerror or str(exc)
        raise ConfigError(f"cannot listen on {host}:{port}: {reason}") from exc
    return sock
