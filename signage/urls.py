"""The URLs a settings file names (the database, the fleet server, the MQTT broker), each checked once.

Each ``check_*`` takes the value as written and returns it, or raises ValueError with one sentence and
an example, which the settings loader reports at the file, line and key.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import SplitResult, urlsplit

from pydantic import AfterValidator

SYNC_TARGET_MAX = 255  # sync_state.target: the central URL without its password, VARCHAR(255)


def check_database_url(value: str | None) -> str | None:
    """A URL SQLAlchemy can open: it parses, names a known dialect, and its driver is installed."""
    if value is None:
        return value
    from sqlalchemy.engine import make_url

    example = (
        "e.g. postgresql+psycopg://signage@db-host:5432/signage or sqlite:////var/lib/signage/signage.db"
    )
    try:
        url = make_url(value)
    except Exception as exc:  # ArgumentError, or ValueError for a port that is not a number
        raise ValueError(
            f"not a database URL; write dialect+driver://user@host:port/database, {example}"
        ) from exc
    try:
        dialect = url.get_dialect()
    except Exception as exc:  # NoSuchModuleError: no such dialect or driver
        raise ValueError(f"unknown database kind {url.drivername!r}; {example}") from exc
    try:
        dialect.import_dbapi()
    except Exception as exc:  # ImportError: the driver package is missing
        raise ValueError(f"the database driver for {url.drivername!r} is not installed; {example}") from exc
    return value


DatabaseUrl = Annotated[str | None, AfterValidator(check_database_url)]


def fits_sync_target(value: str | None) -> str | None:
    if value is not None:
        from signage.store.engine import describe_url

        if len(describe_url(value)) > SYNC_TARGET_MAX:
            raise ValueError(
                f"the URL is too long: at most {SYNC_TARGET_MAX} characters without the password"
            )
    return value


def _split(value: str, what: str, example: str) -> SplitResult:
    """``value`` split into its parts, with a port that is a number in range, or one located error."""
    try:
        url = urlsplit(value)
        url.port  # noqa: B018 -- raises ValueError for a port that is not a number or out of range
    except ValueError as exc:
        raise ValueError(f"not {what} ({exc}); {example}") from exc
    return url


def check_server_url(value: str | None) -> str | None:
    """``https://host[:port][/path]`` (``http://`` for a test bench): no password, query or fragment."""
    if value is None:
        return value
    example = "e.g. https://fleet.example.com or http://127.0.0.1:8700"
    if any(ord(c) <= 32 or ord(c) == 127 for c in value):
        raise ValueError(f"a server URL has no spaces or control characters; {example}")
    url = _split(value, "a server URL", example)
    if url.scheme not in ("https", "http") or not url.hostname:
        raise ValueError(f"not a server URL; write https://host[:port], {example}")
    if url.username is not None or url.password is not None:
        raise ValueError("a server URL holds no user or password; the screen's token is in fleet.token_file")
    if url.query or url.fragment:
        raise ValueError(f"a server URL has no query or fragment; {example}")
    return value


def check_mqtt_url(value: str | None) -> str | None:
    """``mqtt://[user:password@]host[:port]`` (or ``mqtts://``), nothing after the port."""
    if value is None:
        return value
    example = "e.g. mqtt://127.0.0.1:1883 or mqtts://user:password@broker.example.com:8883"
    url = _split(value, "an MQTT URL", example)
    if url.scheme not in ("mqtt", "mqtts") or not url.hostname:
        raise ValueError(f"not an MQTT URL; write mqtt://host:port, {example}")
    if url.path not in ("", "/") or url.query or url.fragment:
        raise ValueError(f"an MQTT URL names the broker only (the topic is feed.topic_prefix); {example}")
    return value
