"""The systemd notify protocol (``sd_notify``), in a few lines and with a fake beside it.

systemd hands a ``Type=notify`` service the address of a datagram socket in ``$NOTIFY_SOCKET``
(a path, or ``@name`` for Linux's abstract namespace) and, when ``WatchdogSec=`` is set, the
watchdog period in ``$WATCHDOG_USEC`` (``$WATCHDOG_PID`` names the process it is meant for).
Each message is one datagram of ``KEY=value`` lines: ``READY=1``, ``STATUS=...``, ``WATCHDOG=1``,
``STOPPING=1``. A message that cannot be sent is reported once and never stops the player.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from typing import Protocol

log = logging.getLogger(__name__)


class Notifier(Protocol):
    """Where service-manager messages go."""

    def notify(self, message: str) -> bool:
        """Send one message (``KEY=value`` lines); False when it could not be sent."""


def socket_address(value: str) -> str | bytes:
    """``$NOTIFY_SOCKET`` as an address for ``sendto``: ``@name`` is the abstract socket ``\\0name``."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


class SdNotifier:
    """Datagrams to the socket systemd named in ``$NOTIFY_SOCKET``."""

    def __init__(self, address: str) -> None:
        if not address or not (address.startswith(("/", "@"))):
            raise ValueError(f"NOTIFY_SOCKET must be an absolute path or @name, not {address!r}")
        self.address = address
        self._target = socket_address(address)
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)  # close-on-exec by default
        self._failed = False

    def notify(self, message: str) -> bool:
        try:
            self._socket.sendto(message.encode(), self._target)
        except OSError as exc:
            if not self._failed:
                log.warning("cannot notify systemd at %s: %s", self.address, exc.strerror or exc)
            self._failed = True
            return False
        if self._failed:
            log.info("systemd notifications reach %s again", self.address)
        self._failed = False
        return True

    def close(self) -> None:
        self._socket.close()


class FakeNotifier:
    """Records every message, for tests."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def notify(self, message: str) -> bool:
        self.messages.append(message)
        return True

    def count(self, message: str) -> int:
        return sum(1 for m in self.messages if m == message)


def notifier_from_env(environ: Mapping[str, str] | None = None) -> SdNotifier | None:
    """The notifier systemd asked for, or None when this process is not a notify service."""
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET", "")
    if not address:
        return None
    try:
        return SdNotifier(address)
    except ValueError as exc:
        log.warning("systemd notifications off: %s", exc)
        return None


def watchdog_period_s(environ: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """The watchdog period systemd expects pings within, or None when there is no watchdog for us.

    ``$WATCHDOG_USEC`` is the period in microseconds; when ``$WATCHDOG_PID`` is set the watchdog
    belongs to that process only (a child that inherited the environment must not ping).
    """
    env = os.environ if environ is None else environ
    usec, owner = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if owner and (not owner.isdigit() or int(owner) != (os.getpid() if pid is None else pid)):
        return None
    return int(usec) / 1_000_000


def notify_stopping(environ: Mapping[str, str] | None = None) -> None:
    """``STOPPING=1``: shutdown has begun (systemd then waits ``TimeoutStopSec`` for the exit)."""
    notifier = notifier_from_env(environ)
    if notifier is not None:
        notifier.notify("STOPPING=1")
        notifier.close()
