"""From device settings to a running dashboard: the app's config and uvicorn's options."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from signage.fleet.central.health import HealthLimits
from signage.settings import Settings, WebSettings
from signage.web.app import WebConfig
from signage.web.fleet_pages import FleetPageConfig
from signage.web.secret import load_or_create_secret

_ANY_ADDRESS = ("0.0.0.0", "::", "")


def secret_path(settings: Settings) -> Path:
    path = settings.web.secret_file
    return path if path.is_absolute() else settings.data_dir / path


def allowed_hosts(web: WebSettings, bind_host: str) -> tuple[str, ...]:
    """``web.allowed_hosts`` plus the address the server listens on (unless that is every address)."""
    hosts = tuple(web.allowed_hosts)
    if bind_host not in _ANY_ADDRESS and bind_host not in hosts:
        hosts += (bind_host,)
    return hosts


def web_config(settings: Settings, bind_host: str, costs: Mapping[str, float]) -> WebConfig:
    """The dashboard's config; reads (or first creates) the secret, which may raise SecretError."""
    web = settings.web
    return WebConfig(
        secret_key=load_or_create_secret(secret_path(settings)),
        tz=settings.tz,
        costs=costs,
        https_only=web.https_only,
        session_max_age_s=web.session_max_age_s,
        login_attempts=web.login_attempts,
        login_window_s=web.login_window_s,
        allowed_hosts=allowed_hosts(web, bind_host),
        fleet=fleet_page_config(settings),
    )


def fleet_page_config(settings: Settings) -> FleetPageConfig:
    """The fleet page's screenshots (``fleet.blob_dir``, as ``signage fleet serve`` keeps them) and limits."""
    blobs = settings.fleet.blob_dir
    return FleetPageConfig(
        blob_root=blobs if blobs.is_absolute() else settings.data_dir / blobs,
        limits=HealthLimits.from_settings(settings.fleet.health),
    )


def uvicorn_options(web: WebSettings) -> dict[str, Any]:
    """Proxy headers are read only from ``web.trusted_proxies``; with none, never (uvicorn's default
    would believe X-Forwarded-For from 127.0.0.1, which any local process or proxy can send)."""
    proxies = [str(p) for p in web.trusted_proxies]
    return {
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies,
        "server_header": False,
    }
