"""A TCP proxy that stands for the network between a screen and its database, and can fail on cue.

- ``cut_after``: cut every connection once that many client bytes have gone through (a store's
  uplink dropping while the sync streams a batch);
- ``sever()``: drop every open connection now and refuse new ones (the database is away);
- ``restore()``: accept connections again (the database is back).

Refused connections are accepted and closed at once, so a client sees "connection closed" at
once instead of waiting for a timeout. Used by the fleet tests and ``bench/soak.py``.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class CutProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.client_bytes = 0
        self.cut_after: int | None = None
        self.cut = False
        self.refused = 0  # connections refused while cut (or while the upstream was unreachable)
        threading.Thread(target=self._accept, name="cut-proxy", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.cut:  # the link is down: refuse
                self._refuse(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:  # the upstream itself is away: the client sees a closed connection
                self._refuse(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _refuse(self, client: socket.socket) -> None:
        self.refused += 1
        client.close()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if from_client:
                    with self._lock:
                        self.client_bytes += len(chunk)
                        over = self.cut_after is not None and self.client_bytes >= self.cut_after
                    if over:
                        self.sever()
                        return
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            with self._lock:
                for s in (source, sink):
                    if s in self._sockets:
                        self._sockets.remove(s)
                        s.close()

    def sever(self) -> None:
        """Drop every open connection now and refuse new ones."""
        with self._lock:
            self.cut = True
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        """Accept and forward new connections again (those cut stay cut)."""
        with self._lock:
            self.cut = False
            self.cut_after = None

    def close(self) -> None:
        self.sever()
        self._server.close()
