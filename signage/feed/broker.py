"""Where an MQTT broker is: parsed once from a ``mqtt://`` URL for the feed, the fleet and the doctor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True)
class Broker:
    host: str
    port: int = 1883
    tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> Broker:
        """``mqtt://[user:password@]host[:port]`` (``mqtts`` for TLS); a bare ``host[:port]`` is ``mqtt``."""
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or DEFAULT_PORTS.get(parts.scheme, 1883),
            tls=parts.scheme == "mqtts",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def describe(self) -> str:
        """Where it is, without the password (for logs)."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def authenticate(self, client: Any) -> None:
        """Give a paho client this broker's user and password and, for ``mqtts``, TLS (system CAs)."""
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set()
