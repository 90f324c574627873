"""systemd's side of ``Type=notify`` + ``WatchdogSec=``, for tests: a real notify socket and the
supervisor's decision, on a clock the test passes in.

``NotifySocket`` binds the AF_UNIX datagram socket ``$NOTIFY_SOCKET`` names (a path, or ``@name``
in the abstract namespace). ``Supervisor`` reads what arrives the way systemd does: a service is
started when ``READY=1`` comes within the start timeout, and once started it is killed and
restarted when no ``WATCHDOG=1`` arrives for ``WatchdogSec`` (unless it said ``STOPPING=1``).
"""

from __future__ import annotations

import select
import socket
from dataclasses import dataclass, field
from pathlib import Path

from signage.service.notify import socket_address


class NotifySocket:
    def __init__(self, address: str) -> None:
        """``address``: an absolute path, or ``@name`` for the abstract namespace."""
        self.address = address
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(socket_address(address))
        self._socket.setblocking(False)

    @classmethod
    def at(cls, folder: Path) -> NotifySocket:
        return cls(str(folder / "notify.sock"))

    def receive(self, timeout_s: float = 0.0) -> list[str]:
        """The messages that arrived, waiting up to ``timeout_s`` for the first one."""
        messages: list[str] = []
        ready, _, _ = select.select([self._socket], [], [], timeout_s)
        while ready:
            try:
                data = self._socket.recv(65536)
            except BlockingIOError:
                break
            messages.append(data.decode())
        return messages

    def close(self) -> None:
        self._socket.close()
        if not self.address.startswith("@"):
            Path(self.address).unlink(missing_ok=True)


@dataclass
class Supervisor:
    watchdog_s: float
    start_timeout_s: float
    started_mono: float
    ready_mono: float | None = None
    last_ping_mono: float | None = None
    stopping: bool = False
    statuses: list[str] = field(default_factory=list)
    pings: int = 0

    def receive(self, message: str, now: float) -> None:
        for line in message.splitlines():
            key, _, value = line.partition("=")
            if key == "READY" and value == "1" and self.ready_mono is None:
                self.ready_mono = now
            elif key == "WATCHDOG" and value == "1":
                self.last_ping_mono = now
                self.pings += 1
            elif key == "STOPPING" and value == "1":
                self.stopping = True
            elif key == "STATUS":
                self.statuses.append(value)

    def verdict(self, now: float) -> str | None:
        """Why systemd would kill and restart the service now, or None while it is fine."""
        if self.stopping:
            return None
        if self.ready_mono is None:
            return "start timed out" if now - self.started_mono > self.start_timeout_s else None
        # The watchdog runs from the moment the service is started (READY=1).
        last = self.ready_mono if self.last_ping_mono is None else max(self.last_ping_mono, self.ready_mono)
        return "watchdog timeout" if now - last > self.watchdog_s else None
