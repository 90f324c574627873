"""The cut proxy: forwards, cuts open connections, refuses while cut, and forwards again once restored."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from signage.testing.cut_proxy import CutProxy


@pytest.fixture
def echo_server() -> Iterator[tuple[str, int]]:
    """A local TCP server that echoes every byte back, one thread per connection."""
    server = socket.create_server(("127.0.0.1", 0))

    def echo(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            while data := conn.recv(4096):
                conn.sendall(data)

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[:2]
    server.close()


def roundtrip(port: int, payload: bytes = b"ping") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(payload)
        return conn.recv(4096)


def closed_by_peer(conn: socket.socket) -> bool:
    try:
        return conn.recv(4096) == b""
    except ConnectionResetError:
        return True


def test_bytes_go_through_and_are_counted(echo_server: tuple[str, int]) -> None:
    proxy = CutProxy(echo_server)
    try:
        assert roundtrip(proxy.port, b"hello") == b"hello"
        assert proxy.client_bytes == 5
    finally:
        proxy.close()


def test_sever_cuts_open_connections_and_refuses_new_ones_until_restored(
    echo_server: tuple[str, int],
) -> None:
    proxy = CutProxy(echo_server)
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as open_conn:
            open_conn.sendall(b"a")
            assert open_conn.recv(1) == b"a"
            proxy.sever()
            assert closed_by_peer(open_conn)
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as refused:
            assert closed_by_peer(refused)
        assert proxy.refused == 1

        proxy.restore()
        assert roundtrip(proxy.port, b"back") == b"back"
    finally:
        proxy.close()


def test_an_unreachable_upstream_is_a_closed_connection_not_a_dead_proxy(
    echo_server: tuple[str, int],
) -> None:
    spare = socket.create_server(("127.0.0.1", 0))
    nothing = spare.getsockname()[:2]
    spare.close()  # nothing listens there now
    proxy = CutProxy(nothing)
    try:
        for _ in range(2):
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as conn:
                assert closed_by_peer(conn)
        assert proxy.refused == 2
        proxy.upstream = echo_server
        assert roundtrip(proxy.port) == b"ping"
    finally:
        proxy.close()


def test_cut_after_drops_the_connection_once_the_budget_is_spent(echo_server: tuple[str, int]) -> None:
    proxy = CutProxy(echo_server)
    proxy.cut_after = 10
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as conn:
            conn.sendall(b"12345")
            assert conn.recv(5) == b"12345"
            conn.sendall(b"6789012345")  # crosses the budget: cut before it reaches the server
            assert closed_by_peer(conn)
        assert proxy.cut
    finally:
        proxy.close()
