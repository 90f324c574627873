"""The dashboard: FastAPI pages and a JSON API behind a login.

Advertiser scoping is part of every query (``ReportFilter.advertiser`` is forced to the account's
advertiser), so another advertiser's campaign simply has no plays for them: 404, never 403, so a
guessed URL tells nothing. Logins, sessions and CSRF live in auth.py; the Host check and the
security headers in headers.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
import sqlalchemy as sa
from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from signage.reports.charts import floor_figure, png_data_uri
from signage.reports.model import FIRST_DAY, LAST_DAY, ReportFilter
from signage.reports.occupancy import floor_cells
from signage.reports.query import build_report, campaign_exists, campaigns_of, where_clause
from signage.reports.render import chart_images, report_dict, template_env, to_csv
from signage.store.models import HEARTBEAT, row_to_heartbeat
from signage.web.auth import Auth, AuthConfig, LoginRequired
from signage.web.fleet_pages import FleetPageConfig, fleet_router
from signage.web.headers import SecurityMiddleware
from signage.web.secret import MIN_SECRET_BYTES
from signage.web.users import User

DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class WebConfig:
    secret_key: str
    tz: ZoneInfo
    costs: Mapping[str, float] = field(default_factory=dict)
    https_only: bool = False
    session_max_age_s: int = 8 * 3600
    session_idle_s: int = 3600
    login_attempts: int = 5  # failed logins per user name in the window
    login_window_s: float = 300.0
    address_login_attempts: int | None = None  # per client address; default 4 x login_attempts
    concurrent_password_checks: int = 2  # 128 MiB each
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    fleet: FleetPageConfig = field(default_factory=FleetPageConfig)  # /admin/fleet

    def __post_init__(self) -> None:
        if len(self.secret_key.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"the dashboard secret must have at least {MIN_SECRET_BYTES} bytes")

    def auth(self) -> AuthConfig:
        return AuthConfig(
            secret_key=self.secret_key,
            https_only=self.https_only,
            session_max_age_s=self.session_max_age_s,
            session_idle_s=self.session_idle_s,
            login_attempts=self.login_attempts,
            login_window_s=self.login_window_s,
            address_login_attempts=self.address_login_attempts,
            concurrent_password_checks=self.concurrent_password_checks,
        )


OVERVIEW_DAYS = 30


def _templates() -> jinja2.Environment:
    env = template_env()
    env.loader = jinja2.ChoiceLoader([jinja2.PackageLoader("signage.web", "templates"), env.loader])  # type: ignore[list-item]
    return env


def _stylesheet(env: jinja2.Environment) -> str:
    """The reports' style block as a stylesheet (the CSP allows no inline style)."""
    block = env.get_template("style.css.html").render().strip()
    return block.removeprefix("<style>").removesuffix("</style>").strip() + "\n"


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / RFC 5987)."""
    plain = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in filename)
    exact = "".join("_" if ch in '/\\"' or not ch.isprintable() else ch for ch in filename)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(exact, safe='')}"


def parse_day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise HTTPException(status_code=400, detail="dates must look like 2026-05-31") from exc
    if not FIRST_DAY <= day <= LAST_DAY:
        raise HTTPException(
            status_code=400, detail=f"{name} must be between {FIRST_DAY} and {LAST_DAY}, not {value}"
        )
    return day


def create_app(
    engine: sa.Engine,
    config: WebConfig,
    *,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FastAPI:
    app = FastAPI(title="signage dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SecurityMiddleware, allowed_hosts=config.allowed_hosts, https_only=config.https_only)
    env = _templates()
    stylesheet = _stylesheet(env)
    auth = app.state.auth = Auth(engine, config.auth(), clock, now)

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        user = auth.user(request)
        html = env.get_template(name).render(user=user, csrf=auth.csrf_token(request), **context)
        return HTMLResponse(html, status_code=status)

    def scoped(user: User, campaign: str | None = None, **kw: Any) -> ReportFilter:
        return ReportFilter(advertiser=None if user.is_admin else user.advertiser, campaign=campaign, **kw)

    def dates(request: Request, default_days: int | None) -> tuple[date | None, date | None]:
        q = request.query_params
        date_from, date_to = parse_day(q.get("from"), "from"), parse_day(q.get("to"), "to")
        if date_from is not None and date_to is not None and date_from > date_to:
            raise HTTPException(status_code=400, detail=f"from ({date_from}) is after to ({date_to})")
        if date_from is None and date_to is None and default_days is not None:
            date_from = now().astimezone(config.tz).date() - timedelta(days=default_days - 1)
        return date_from, date_to

    def campaign_filter(user: User, campaign: str, request: Request) -> ReportFilter:
        if not campaign_exists(engine, campaign, None if user.is_admin else user.advertiser):
            raise HTTPException(status_code=404, detail="no such campaign")
        date_from, date_to = dates(request, None)
        screen = request.query_params.get("screen") or None
        return scoped(user, campaign, screen_id=screen, date_from=date_from, date_to=date_to)

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, _exc: LoginRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "log in first"}, status_code=401)
        return RedirectResponse("/login", status_code=303)

    def login_page(request: Request, status: int = 200, error: str | None = None) -> HTMLResponse:
        token, fresh_cookie = auth.login_form_token(request)
        html = env.get_template("login.html").render(user=None, csrf="", login_csrf=token, error=error)
        response = HTMLResponse(html, status_code=status)
        if fresh_cookie is not None:
            auth.set_login_cookie(response, fresh_cookie)
        return response

    @app.get("/static/style.css")
    def style() -> Response:
        return Response(stylesheet, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> HTMLResponse:
        return login_page(request)

    @app.post("/login")
    def login(
        request: Request,
        username: str = Form(""),
        password: str = Form(""),
        csrf_token_field: str = Form("", alias="csrf_token"),
    ) -> Response:
        auth.check_login_csrf(request, csrf_token_field)
        outcome = auth.log_in(request, username, password)
        if outcome.user is None:
            response = login_page(request, outcome.status, outcome.error)
            if outcome.retry_after_s is not None:
                response.headers["Retry-After"] = str(outcome.retry_after_s)
            return response
        redirect = RedirectResponse("/", status_code=303)
        auth.start_session(redirect, outcome.session_id)
        return redirect

    @app.post("/logout")
    def logout(request: Request, csrf_token_field: str = Form("", alias="csrf_token")) -> Response:
        redirect = RedirectResponse("/login", status_code=303)
        if auth.user(request) is None:  # expired already: nothing to end, nothing to protect
            auth.log_out(request, redirect)
            return redirect
        auth.check_csrf(request, csrf_token_field)
        auth.log_out(request, redirect)
        return redirect

    @app.get("/", response_class=HTMLResponse)
    def overview(request: Request) -> HTMLResponse:
        user = auth.require_user(request)
        # The fleet's whole history can be millions of plays: the overview shows recent weeks.
        date_from, date_to = dates(request, OVERVIEW_DAYS)
        f = scoped(user, date_from=date_from, date_to=date_to)
        report = build_report(engine, f, config.tz, now=now(), costs=config.costs)
        return page(request, "overview.html", report=report)

    # Campaign names may hold "/", hence the path converter; the export route is matched first.
    @app.get("/campaigns/{campaign:path}/export.csv")
    def campaign_csv(request: Request, campaign: str) -> Response:
        user = auth.require_user(request)
        report = build_report(
            engine, campaign_filter(user, campaign, request), config.tz, now=now(), costs=config.costs
        )
        return Response(
            to_csv(report),
            media_type="text/csv",
            headers={"Content-Disposition": content_disposition(f"campaign-{campaign}.csv")},
        )

    @app.get("/campaigns/{campaign:path}", response_class=HTMLResponse)
    def campaign_page(request: Request, campaign: str) -> HTMLResponse:
        user = auth.require_user(request)
        f = campaign_filter(user, campaign, request)
        report = build_report(
            engine, f, config.tz, now=now(), costs=config.costs, title=f"Campaign {campaign}"
        )
        return page(request, "campaign.html", report=report, charts=chart_images(report), campaign=campaign)

    @app.get("/api/campaigns")
    def api_campaigns(request: Request) -> JSONResponse:
        user = auth.require_user(request)
        pairs = campaigns_of(engine, None if user.is_admin else user.advertiser)
        return JSONResponse([{"advertiser": a, "campaign": c} for a, c in pairs])

    @app.get("/api/campaigns/{campaign:path}")
    def api_campaign(request: Request, campaign: str) -> JSONResponse:
        user = auth.require_user(request)
        report = build_report(
            engine, campaign_filter(user, campaign, request), config.tz, now=now(), costs=config.costs
        )
        return JSONResponse(report_dict(report))

    @app.get("/admin/screens", response_class=HTMLResponse)
    def screens(request: Request) -> HTMLResponse:
        user = auth.require_user(request)
        if not user.is_admin:
            raise HTTPException(status_code=404, detail="not found")
        with engine.connect() as conn:
            rows = conn.execute(sa.select(HEARTBEAT).order_by(HEARTBEAT.c.screen_id)).all()
        beats = [row_to_heartbeat(r) for r in rows]
        return page(request, "screens.html", beats=beats, now=now())

    @app.get("/admin/screens/{screen_id:path}/floor", response_class=HTMLResponse)
    def screen_floor(request: Request, screen_id: str) -> HTMLResponse:
        """Where people stood in front of one screen (the hours it played, last 30 days by default)."""
        user = auth.require_user(request)
        if not user.is_admin:
            raise HTTPException(status_code=404, detail="not found")
        date_from, date_to = dates(request, OVERVIEW_DAYS)
        f = ReportFilter(screen_id=screen_id, date_from=date_from, date_to=date_to)
        with engine.connect() as conn:
            cells = floor_cells(conn, where_clause(f, config.tz))
        title = f"Where people stand in front of {screen_id}"
        chart = png_data_uri(floor_figure(cells, title)) if cells else None
        return page(request, "screen_floor.html", screen_id=screen_id, f=f, cells=cells, chart=chart)

    app.include_router(fleet_router(engine, auth, page, now, config.fleet))
    return app
