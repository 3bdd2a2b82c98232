"""``hone._net.bind_port``: the servers' listening socket."""

from __future__ import annotations

import socket

import pytest

from hone._net import bind_port
from hone.errors import ConfigError


def test_accepted_connections_are_tcp_so_asyncio_turns_nagle_off() -> None:
    # asyncio sets TCP_NODELAY only where proto is IPPROTO_TCP; with proto 0 every
    # two-part response waited ~40 ms for a delayed ACK.
    with bind_port("127.0.0.1", 0) as server:
        server.listen()
        assert server.proto == socket.IPPROTO_TCP
        with socket.create_connection(server.getsockname()):
            accepted, _ = server.accept()
            with accepted:
                assert accepted.proto == socket.IPPROTO_TCP


def test_a_busy_port_is_named() -> None:
    with bind_port("127.0.0.1", 0) as taken:
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"port {port} is in use on 127.0.0.1"):
            bind_port("127.0.0.1", port)
