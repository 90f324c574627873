"""The dashboard: FastAPI pages and a JSON API behind a login.

Advertiser scoping is part of every query (``ReportFilter.advertiser`` is forced to the account's
advertiser), so another advertiser's campaign simply has no plays for them: 404, never 403, so a
guessed URL tells nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import sqlalchemy as sa
from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.middleware.sessions import SessionMiddleware

from signage.reports.model import ReportFilter
from signage.reports.query import build_report, campaign_exists, campaigns_of
from signage.reports.render import chart_images, report_dict, template_env, to_csv
from signage.store.models import HEARTBEAT, row_to_heartbeat
from signage.web.security import LoginLimiter, csrf_valid, new_csrf_token
from signage.web.users import User, authenticate, get_user


@dataclass(frozen=True)
class WebConfig:
    secret_key: str
    tz: ZoneInfo
    costs: Mapping[str, float] = field(default_factory=dict)
    https_only: bool = False
    session_max_age_s: int = 8 * 3600
    login_attempts: int = 5
    login_window_s: float = 300.0


OVERVIEW_DAYS = 30


class _LoginRequired(Exception):
    pass


def _templates() -> jinja2.Environment:
    env = template_env()
    env.loader = jinja2.ChoiceLoader([jinja2.PackageLoader("signage.web", "templates"), env.loader])  # type: ignore[list-item]
    return env


def create_app(
    engine: sa.Engine,
    config: WebConfig,
    *,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FastAPI:
    app = FastAPI(title="signage dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        SessionMiddleware,
        secret_key=config.secret_key,
        session_cookie="signage_session",
        max_age=config.session_max_age_s,
        same_site="strict",
        https_only=config.https_only,
    )
    env = _templates()
    limiter = LoginLimiter(config.login_attempts, config.login_window_s)

    def csrf_token(request: Request) -> str:
        token = request.session.get("csrf")
        if not token:
            token = request.session["csrf"] = new_csrf_token()
        return str(token)

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        user = current_user(request)
        html = env.get_template(name).render(user=user, csrf=csrf_token(request), **context)
        return HTMLResponse(html, status_code=status)

    def current_user(request: Request) -> User | None:
        username = request.session.get("user")
        # Read on every request, so a removed or demoted account loses access at once.
        return get_user(engine, username) if username else None

    def require_user(request: Request) -> User:
        user = current_user(request)
        if user is None:
            raise _LoginRequired()
        return user

    def check_csrf(request: Request, token: str | None) -> None:
        if not csrf_valid(request.session.get("csrf"), token):
            raise HTTPException(status_code=403, detail="missing or wrong CSRF token; reload the page")

    def scoped(user: User, campaign: str | None = None, **kw: Any) -> ReportFilter:
        return ReportFilter(advertiser=None if user.is_admin else user.advertiser, campaign=campaign, **kw)

    def dates(request: Request, default_days: int | None) -> tuple[date | None, date | None]:
        q = request.query_params
        try:
            date_from = date.fromisoformat(q["from"]) if q.get("from") else None
            date_to = date.fromisoformat(q["to"]) if q.get("to") else None
        except ValueError as exc:
            raise HTTPException(status_code=400, detail="dates must look like 2026-05-31") from exc
        if date_from is None and date_to is None and default_days is not None:
            date_from = now().astimezone(config.tz).date() - timedelta(days=default_days - 1)
        return date_from, date_to

    def campaign_filter(user: User, campaign: str, request: Request) -> ReportFilter:
        if not campaign_exists(engine, campaign, None if user.is_admin else user.advertiser):
            raise HTTPException(status_code=404, detail="no such campaign")
        date_from, date_to = dates(request, None)
        screen = request.query_params.get("screen") or None
        return scoped(user, campaign, screen_id=screen, date_from=date_from, date_to=date_to)

    @app.exception_handler(_LoginRequired)
    async def _to_login(request: Request, _exc: _LoginRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "log in first"}, status_code=401)
        return RedirectResponse("/login", status_code=303)

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> HTMLResponse:
        return page(request, "login.html", error=None)

    @app.post("/login")
    def login(
        request: Request,
        username: str = Form(""),
        password: str = Form(""),
        csrf_token_field: str = Form("", alias="csrf_token"),
    ) -> Response:
        check_csrf(request, csrf_token_field)
        client = request.client.host if request.client else "unknown"
        keys = (f"ip:{client}", f"user:{username.lower()}")
        if limiter.blocked(keys, clock()):
            wait = int(limiter.retry_after_s(keys, clock())) + 1
            response = page(
                request,
                "login.html",
                status=429,
                error=f"Too many failed logins; try again in {wait} seconds.",
            )
            response.headers["Retry-After"] = str(wait)
            return response
        user = authenticate(engine, username, password)
        if user is None:
            limiter.failed(keys, clock())
            return page(request, "login.html", status=401, error="Wrong user name or password.")
        limiter.succeeded(keys)
        request.session.clear()  # a fresh session and token: no fixation across the login
        request.session["user"] = user.username
        request.session["csrf"] = new_csrf_token()
        return RedirectResponse("/", status_code=303)

    @app.post("/logout")
    def logout(request: Request, csrf_token_field: str = Form("", alias="csrf_token")) -> Response:
        check_csrf(request, csrf_token_field)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @app.get("/", response_class=HTMLResponse)
    def overview(request: Request) -> HTMLResponse:
        user = require_user(request)
        # The fleet's whole history can be millions of plays: the overview shows recent weeks.
        date_from, date_to = dates(request, OVERVIEW_DAYS)
        f = scoped(user, date_from=date_from, date_to=date_to)
        report = build_report(engine, f, config.tz, now=now(), costs=config.costs)
        return page(request, "overview.html", report=report)

    @app.get("/campaigns/{campaign}", response_class=HTMLResponse)
    def campaign_page(request: Request, campaign: str) -> HTMLResponse:
        user = require_user(request)
        f = campaign_filter(user, campaign, request)
        report = build_report(
            engine, f, config.tz, now=now(), costs=config.costs, title=f"Campaign {campaign}"
        )
        return page(request, "campaign.html", report=report, charts=chart_images(report), campaign=campaign)

    @app.get("/campaigns/{campaign}/export.csv")
    def campaign_csv(request: Request, campaign: str) -> Response:
        user = require_user(request)
        report = build_report(
            engine, campaign_filter(user, campaign, request), config.tz, now=now(), costs=config.costs
        )
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in campaign)
        return Response(
            to_csv(report),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="campaign-{safe}.csv"'},
        )

    @app.get("/api/campaigns")
    def api_campaigns(request: Request) -> JSONResponse:
        user = require_user(request)
        pairs = campaigns_of(engine, None if user.is_admin else user.advertiser)
        return JSONResponse([{"advertiser": a, "campaign": c} for a, c in pairs])

    @app.get("/api/campaigns/{campaign}")
    def api_campaign(request: Request, campaign: str) -> JSONResponse:
        user = require_user(request)
        report = build_report(
            engine, campaign_filter(user, campaign, request), config.tz, now=now(), costs=config.costs
        )
        return JSONResponse(report_dict(report))

    @app.get("/admin/screens", response_class=HTMLResponse)
    def screens(request: Request) -> HTMLResponse:
        user = require_user(request)
        if not user.is_admin:
            raise HTTPException(status_code=404, detail="not found")
        with engine.connect() as conn:
            rows = conn.execute(sa.select(HEARTBEAT).order_by(HEARTBEAT.c.screen_id)).all()
        beats = [row_to_heartbeat(r) for r in rows]
        return page(request, "screens.html", beats=beats, now=now())

    return app
