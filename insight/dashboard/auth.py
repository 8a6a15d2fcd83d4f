"""Sign-in, sessions and CSRF for the dashboard.

Every page and JSON endpoint needs a session: pages redirect to the login
form, JSON answers 401. Every request that changes state (any method but
GET/HEAD) must carry the session's CSRF token in the ``csrf`` form field or
the ``X-CSRF-Token`` header; the login form itself uses a double-submit
cookie, since there is no session yet.
"""

from __future__ import annotations

import hmac
import math
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlparse

from aiohttp import web

from insight.config import DashboardConfig
from insight.dashboard.sessions import Session, SessionStore
from insight.dashboard.throttle import LoginThrottle
from insight.passwords import hash_password

SESSION_COOKIE = "wl_session"
LOGIN_COOKIE = "wl_login"
#: where the signed-in session is kept on the request
SESSION_KEY = web.RequestKey("insight.session", Session)
STORE_KEY = web.AppKey("sessions", SessionStore)
CONFIG_KEY = web.AppKey("dashboard_config", DashboardConfig)
PREFIX_KEY = web.AppKey("prefix", str)
THROTTLE_KEY = web.AppKey("login_throttle", LoginThrottle)

#: reached without a session: the login form, one-time links, the chart library
PUBLIC = ("/login", "/login/link/", "/static/")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def local_path(request: web.Request) -> str:
    """The path inside the dashboard (without its mount prefix)."""
    return request.path.removeprefix(request.app[PREFIX_KEY]) or "/"


def url(request: web.Request, name: str, **parts: str) -> str:
    return str(request.app.router[name].url_for(**parts))


@web.middleware
async def require_login(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = local_path(request)
    if not any(path == p or (p.endswith("/") and path.startswith(p)) for p in PUBLIC):
        session = await request.app[STORE_KEY].get(request.cookies.get(SESSION_COOKIE))
        if session is None:
            if "/api/" in request.path or request.method not in SAFE_METHODS:
                raise web.HTTPUnauthorized(
                    text='{"error": "login required"}', content_type="application/json"
                )
            target = url(request, "login") + "?next=" + quote(request.path_qs, safe="")
            raise web.HTTPFound(target)
        if request.method not in SAFE_METHODS:
            await _check_csrf(request, session.csrf_token)
        request[SESSION_KEY] = session
    response = await handler(request)
    _harden(response)
    return response


async def _check_csrf(request: web.Request, expected: str) -> None:
    given = request.headers.get("X-CSRF-Token")
    if given is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        given = str((await request.post()).get("csrf", ""))
    if not given or not same_secret(given, expected):
        raise web.HTTPForbidden(text="missing or wrong CSRF token; reload the page and try again")


def same_secret(given: str, expected: str) -> bool:
    """Constant-time, and a str with non-ASCII characters is just unequal (compared as
    str, ``hmac.compare_digest`` would raise and answer 500)."""
    return hmac.compare_digest(given.encode(errors="replace"), expected.encode())


def is_secure(request: web.Request) -> bool:
    """HTTPS here, or at the TLS proxy in front when ``trust_forwarded_proto``."""
    if request.secure:
        return True
    if not request.app[CONFIG_KEY].trust_forwarded_proto:
        return False
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return proto == "https"


def client_address(request: web.Request) -> str:
    if request.app[CONFIG_KEY].trust_forwarded_for:
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
        if hops[-1]:
            return hops[-1]  # appended by our proxy; earlier hops are the client's say
    return request.remote or "unknown"


def _harden(response: web.StreamResponse) -> None:
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")


def redirect(target: str) -> web.Response:
    return web.Response(status=302, headers={"Location": target})


def session_of(request: web.Request) -> Session:
    session = request.get(SESSION_KEY)
    assert isinstance(session, Session)
    return session


def _set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    store = request.app[STORE_KEY]
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(store.ttl.total_seconds()),
        httponly=True,
        samesite="Strict",
        secure=is_secure(request),
        path="/",
    )


def _safe_next(request: web.Request, target: str | None) -> str:
    """Only local paths, so a crafted link cannot bounce a fresh login elsewhere."""
    home = url(request, "overview")
    if not target:
        return home
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return home
    return target


#: a real hash checked when the user is unknown, so timing does not tell who exists
_DUMMY = hash_password(secrets.token_hex(8))


async def login_form(
    request: web.Request, *, error: str | None = None, status: int = 200, username: str = ""
) -> web.Response:
    from insight.dashboard.views import render

    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {
            "error": error,
            "login_csrf": token,
            "next": request.query.get("next", ""),
            "username": username,
        },
        status=status,
    )
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="Strict", secure=is_secure(request), path="/"
    )
    return response


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    given = str(form.get("csrf", ""))
    if not cookie or not given or not same_secret(cookie, given):
        raise web.HTTPForbidden(text="missing or wrong CSRF token; reload the login page")
    username, password = str(form.get("username", ""))[:64], str(form.get("password", ""))
    throttle, address = request.app[THROTTLE_KEY], client_address(request)
    wait = throttle.retry_after(username, address)
    if wait is not None:
        minutes = max(1, math.ceil(wait / 60))
        response = await login_form(
            request,
            error=f"Too many login attempts. Try again in {minutes} minute(s).",
            status=429,
            username=username,
        )
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response
    admins = {a.username: a.password_hash for a in request.app[CONFIG_KEY].admins}
    stored = admins.get(username, _DUMMY)
    if not await throttle.verify(username, address, password, stored) or username not in admins:
        return await login_form(
            request, error="Wrong user name or password.", status=401, username=username
        )
    throttle.succeeded(username)
    return await _start_session(request, username, _safe_next(request, str(form.get("next", ""))))


async def login_link(request: web.Request) -> web.StreamResponse:
    username = await request.app[STORE_KEY].redeem_link(request.match_info["token"])
    if username is None:
        return await login_form(
            request,
            error="That login link has expired or was used already. Ask the bot for a new one.",
            status=401,
        )
    return await _start_session(request, username, url(request, "overview"))


async def _start_session(request: web.Request, username: str, target: str) -> web.StreamResponse:
    token, _ = await request.app[STORE_KEY].create(username)
    response = redirect(target)
    _set_session_cookie(request, response, token)
    response.del_cookie(LOGIN_COOKIE, path="/")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    await request.app[STORE_KEY].end(request.cookies.get(SESSION_COOKIE))
    response = redirect(url(request, "login"))
    response.del_cookie(SESSION_COOKIE, path="/")
    return response
