"""Dashboard pages and their JSON twins. Each page runs only its own queries."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.clock import Clock
from bot.config.model import WarmlineConfig
from bot.i18n.money import money
from insight import charts, figure_tables, pages
from insight.config import insight_config
from insight.costs import cost_models, set_cost
from insight.dashboard.auth import PREFIX_KEY, SESSION_KEY, redirect, session_of, url
from insight.definitions import FIGURES
from insight.period import EmptyPeriod, data_span, default_window, empty_period
from insight.queries.members import SearchQuery, handoffs, member_detail, push_log, search_members
from insight.render import figure_html, templates
from insight.window import Window
from storage.segment_filter import SegmentError, parse

ENGINE_KEY = web.AppKey("engine", AsyncEngine)
WCONFIG_KEY = web.AppKey("config", WarmlineConfig)
CLOCK_KEY = web.AppKey("clock", Clock)

NAV = (
    ("overview", "Overview"),
    ("sources", "Sources"),
    ("cohorts", "Cohorts"),
    ("members", "Members"),
    ("push", "Push log"),
    ("handoffs", "Handoffs"),
)


def render(
    request: web.Request, name: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    session = request.get(SESSION_KEY)
    period = urlencode({k: request.query[k] for k in ("from", "to") if request.query.get(k)})
    page = {
        "nav": [
            (key, label, url(request, key) + (f"?{period}" if period else "")) for key, label in NAV
        ],
        "session": session,
        "csrf": getattr(session, "csrf_token", ""),
        "prefix": request.app[PREFIX_KEY],
        "url": lambda n, **parts: url(request, n, **parts),
        "query": request.query,
        "currency": request.app[WCONFIG_KEY].shop.currency,
        **context,
    }
    html = templates().get_template(name).render(**page)
    return web.Response(text=html, content_type="text/html", status=status)


def window_of(request: web.Request) -> Window | None:
    """The asked period, or None for the default (chosen with the data in view)."""
    now = request.app[CLOCK_KEY].now()
    try:
        first = date.fromisoformat(request.query["from"]) if request.query.get("from") else None
        last = date.fromisoformat(request.query["to"]) if request.query.get("to") else None
        if first is None and last is None:
            return None
        return Window.from_dates(first, last, now)
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"from/to must be dates like 2026-01-31: {exc}") from None


async def period_of(
    request: web.Request, conn: AsyncConnection
) -> tuple[Window, EmptyPeriod | None]:
    """The page's period (the default covers the data when it is all older than 90
    days) and, when nobody joined in it, where the data is."""
    window = window_of(request)
    if window is None:
        window = default_window(await data_span(conn), request.app[CLOCK_KEY].now())
    return window, await empty_period(conn, window)


def _empty_context(request: web.Request, empty: EmptyPeriod | None) -> dict[str, Any]:
    if empty is None:
        return {"empty": None}
    hint = empty.suggestion()
    link = None
    if hint is not None:
        query = {k: v for k, v in request.query.items() if k not in ("from", "to")}
        query |= {"from": hint[0].isoformat(), "to": hint[1].isoformat()}
        link = f"{request.path}?{urlencode(query)}"
    return {"empty": empty.message(), "empty_link": link}


def _empty_json(empty: EmptyPeriod | None) -> dict[str, Any]:
    if empty is None:
        return {}
    hint = empty.suggestion()
    return {
        "empty": empty.message(),
        "data_from": hint[0].isoformat() if hint else None,
        "data_to": hint[1].isoformat() if hint else None,
    }


def _settings(request: web.Request) -> pages.Settings:
    return pages.Settings.of(request.app[WCONFIG_KEY])


def _wants_json(request: web.Request) -> bool:
    return request.match_info.get("api") == "api"


def _tables_json(window: Window, found: list[figure_tables.Table], **extra: Any) -> web.Response:
    body = {
        "from": window.start.isoformat(),
        "to": window.end.isoformat(),
        "tables": {
            t.slug: {
                "title": t.title,
                "columns": [c.figure.key if c.figure else c.name for c in t.columns],
                "rows": t.rows,
            }
            for t in found
        },
        **extra,
    }
    return web.json_response(body, dumps=lambda v: json.dumps(v, default=str))


async def overview(request: web.Request) -> web.Response:
    async with request.app[ENGINE_KEY].begin() as conn:
        window, empty = await period_of(request, conn)
        now = request.app[CLOCK_KEY].now()
        data = await pages.overview(conn, window, _settings(request), now)
    funnel_table = figure_tables.funnel_table(data.funnel)
    if _wants_json(request):
        return _tables_json(window, [funnel_table], today=_plain(data.today), **_empty_json(empty))
    t = data.today
    currency = request.app[WCONFIG_KEY].shop.currency
    today = [
        ("Joined today", t.joined, FIGURES["joined"].definition),
        ("Orders today", t.orders, "Orders recorded since midnight UTC."),
        ("Revenue today", money(t.revenue, currency), FIGURES["revenue"].definition),
        ("Proactive sent today", t.proactive, FIGURES["proactive_per_member_week"].definition),
        ("Held back by the gate today", t.held_back, FIGURES["gate_outcomes"].definition),
        ("Opted out today", t.opted_out, FIGURES["optout_rate"].definition),
        ("Handoffs today", t.handoffs, FIGURES["handoffs"].definition),
    ]
    return render(
        request,
        "overview.html",
        {
            "page": "overview",
            "window": window,
            **_empty_context(request, empty),
            "today": today,
            "charts": [figure_html(charts.funnel_by_source(data.funnel))],
            "tables": [funnel_table],
        },
    )


async def sources(request: web.Request) -> web.Response:
    config = request.app[WCONFIG_KEY]
    async with request.app[ENGINE_KEY].begin() as conn:
        window, empty = await period_of(request, conn)
        data = await pages.sources(conn, window, _settings(request), config)
        models = await cost_models(conn, insight_config(config))
    found = [
        figure_tables.sources_table(data.values),
        figure_tables.funnel_table(data.funnel),
        figure_tables.referrals_table(data.referrals),
    ]
    if _wants_json(request):
        return _tables_json(window, found, **_empty_json(empty))
    names = sorted({v.source for v in data.values} | set(models))
    return render(
        request,
        "sources.html",
        {
            "page": "sources",
            "window": window,
            **_empty_context(request, empty),
            "tables": found,
            "sources": names,
            "models": models,
            "saved": request.query.get("saved"),
            "charts": [
                figure_html(charts.ltv_vs_cac(data.values, request.app[WCONFIG_KEY].shop.currency)),
                figure_html(charts.funnel_by_source(data.funnel)),
            ],
        },
    )


async def set_source_cost(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    source = str(form.get("source", "")).strip()
    kind = str(form.get("kind", ""))
    try:
        amount = float(str(form.get("amount", "")))
        period = float(str(form.get("period_days", "30") or 30))
    except ValueError:
        raise web.HTTPBadRequest(text="amount and period must be numbers") from None
    if (
        not source
        or len(source) > 64
        or kind not in ("per_member", "spend")
        or amount < 0
        or period <= 0
    ):
        raise web.HTTPBadRequest(
            text="need a source, kind per_member|spend, amount ≥ 0, period > 0"
        )
    async with request.app[ENGINE_KEY].begin() as conn:
        await set_cost(
            conn,
            source,
            cost_per_member=amount if kind == "per_member" else None,
            spend=amount if kind == "spend" else None,
            period_days=period,
            by=session_of(request).username,
            at=request.app[CLOCK_KEY].now(),
        )
    return redirect(url(request, "sources") + f"?saved={source}")


async def cohorts(request: web.Request) -> web.Response:
    async with request.app[ENGINE_KEY].begin() as conn:
        window, empty = await period_of(request, conn)
        data = await pages.cohort_page(conn, window, _settings(request))
    found = [
        figure_tables.cohorts_table(data.cohorts, window),
        figure_tables.repurchase_table(data.repurchase),
    ]
    if _wants_json(request):
        return _tables_json(window, found, **_empty_json(empty))
    return render(
        request,
        "page.html",
        {
            "page": "cohorts",
            "title": "Cohorts",
            "window": window,
            **_empty_context(request, empty),
            "tables": found,
            "lead": "Do members stay and buy again? (Referrals and K-factor per source: see Sources.)",
            "charts": [figure_html(charts.cohort_heatmap(data.cohorts, window))],
        },
    )


async def members(request: web.Request) -> web.Response:
    """Search by name and by a segment filter (``filter=tag:vip !tier:ordinary``, the
    language of /segment); ``tag``, ``tier`` and ``source`` are read as terms of it."""
    given = {kind: request.query.get(kind, "").strip() for kind in _TERM_PARAMS}
    terms = [f"{kind}:{value}" for kind, value in given.items() if value]
    raw = " ".join([request.query.get("filter", "").strip()[:1000], *terms]).strip()
    text = request.query.get("q", "").strip()[:100]
    try:
        query = SearchQuery(text, parse(raw) if raw else None)
    except SegmentError as error:
        if _wants_json(request):
            return web.json_response({"error": str(error)}, status=400)
        context = {"page": "members", "search": SearchQuery(text), "filter": raw, "hits": []}
        return render(request, "members.html", {**context, "error": str(error)}, status=400)
    language = request.app[WCONFIG_KEY].bot.default_language
    async with request.app[ENGINE_KEY].connect() as conn:
        hits = [] if query.empty else await search_members(conn, query, default_language=language)
    if _wants_json(request):
        return web.json_response(
            {"filter": str(query.filter or ""), "members": [_plain(h) for h in hits]}
        )
    shown = str(query.filter or "")
    context = {"page": "members", "search": query, "filter": shown, "hits": hits}
    return render(request, "members.html", context)


#: query parameters of an earlier search form, each one filter term
_TERM_PARAMS = ("tag", "tier", "source")


def _plain(item: Any) -> dict[str, Any]:
    """A slotted dataclass as JSON-ready fields (datetimes as ISO text)."""
    fields = {slot: getattr(item, slot) for slot in item.__slots__}
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()}


async def member(request: web.Request) -> web.Response:
    try:
        member_id = int(request.match_info["member_id"])
    except ValueError:
        raise web.HTTPNotFound(text="no such member") from None
    async with request.app[ENGINE_KEY].connect() as conn:
        currency = request.app[WCONFIG_KEY].shop.currency
        detail = await member_detail(conn, member_id, currency=currency)
    if detail is None:
        raise web.HTTPNotFound(text="no such member")
    if _wants_json(request):
        return web.json_response(
            {
                "member": _plain(detail.member),
                "tags": detail.tags,
                "orders": detail.orders,
                "revenue": detail.revenue,
                "timeline": [
                    {
                        "at": e.at.isoformat(),
                        "kind": e.kind,
                        "summary": e.summary,
                        "outcome": e.outcome,
                    }
                    for e in detail.timeline
                ],
            }
        )
    return render(request, "member.html", {"page": "members", "detail": detail})


async def push(request: web.Request) -> web.Response:
    settings = _settings(request)
    outcome = request.query.get("outcome", "")
    if outcome not in ("", "sent", "deferred", "dropped"):
        raise web.HTTPBadRequest(text="outcome must be sent, deferred or dropped")
    async with request.app[ENGINE_KEY].begin() as conn:
        window, empty = await period_of(request, conn)
        data = await pages.respect(conn, window, settings)
        log = await push_log(conn, outcome=outcome)
    found = [
        figure_tables.load_table(data.load, window, settings.weekly_cap),
        figure_tables.gate_table(data.gate),
        figure_tables.campaigns_table(data.campaigns),
    ]
    if _wants_json(request):
        return _tables_json(
            window, found, log=[_plain(entry) for entry in log], **_empty_json(empty)
        )
    return render(
        request,
        "push.html",
        {
            "page": "push",
            "window": window,
            **_empty_context(request, empty),
            "tables": found,
            "log": log,
            "outcome": outcome,
            "charts": [
                figure_html(charts.load_vs_cap(data.load, window, settings.weekly_cap)),
                figure_html(charts.offers_share(data.load, window)),
                figure_html(charts.gate_reasons(data.gate)),
            ],
        },
    )


async def handoff_list(request: web.Request) -> web.Response:
    async with request.app[ENGINE_KEY].connect() as conn:
        found = await handoffs(conn)
    if _wants_json(request):
        return web.json_response({"handoffs": [_plain(h) for h in found]})
    return render(
        request,
        "handoffs.html",
        {"page": "handoffs", "handoffs": found, "definition": FIGURES["handoffs"].definition},
    )
