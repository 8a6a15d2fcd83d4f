"""``warmline report``: one self-contained HTML file, plus CSV of every table.

The page carries plotly.js inline and loads nothing, so it opens offline and
no request leaves it. Charts and tables come from aggregate queries (their
size depends on weeks and sources, not on members); the per-member CSV is
streamed from a server-side cursor, so memory stays flat however big the
database is.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from plotly.offline import get_plotlyjs
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.config.model import WarmlineConfig
from insight import charts, figure_tables
from insight.definitions import FIGURES
from insight.loop import engaged, joined_in, journeys, members, order_totals, source_of
from insight.pages import Settings, cohort_page, respect, sources
from insight.period import EmptyPeriod, data_span, default_window, empty_period
from insight.queries.activity import refresh_activity
from insight.queries.funnel import funnel, total
from insight.queries.push_rollup import refresh_push
from insight.render import figure_html, templates
from insight.window import Window
from storage.database import Database
from storage.member_loop import catch_up_member_loop

MEMBER_CSV_BATCH = 2000


@dataclass(slots=True)
class ReportResult:
    html: Path
    window: Window
    csv_files: list[Path] = field(default_factory=list)
    members: int = 0
    #: nobody joined in the period (and where the data is)
    empty: EmptyPeriod | None = None


async def write_report(
    config: WarmlineConfig,
    window: Window | None,
    out: Path,
    csv_dir: Path | None = None,
    *,
    now: datetime,
) -> ReportResult:
    """``window`` None: the default period, which covers the data when the database
    holds only older data (:func:`insight.period.default_window`)."""
    db = Database(config.storage.database_url)
    try:
        async with db.engine.begin() as conn:
            await refresh_activity(conn)
            await refresh_push(conn)
            await catch_up_member_loop(conn)
        async with db.engine.connect() as conn:
            if window is None:
                window = default_window(await data_span(conn), now)
            empty = await empty_period(conn, window)
            result = await _write(conn, config, window, out, csv_dir, now, empty)
            result.empty = empty
            return result
    finally:
        await db.close()


async def _write(
    conn: AsyncConnection,
    config: WarmlineConfig,
    window: Window,
    out: Path,
    csv_dir: Path | None,
    now: datetime,
    empty: EmptyPeriod | None,
) -> ReportResult:
    settings = Settings.of(config)
    weekly = await funnel(conn, window, settings.min_trust)
    by_source = await sources(conn, window, settings, config)
    cohort_data = await cohort_page(conn, window, settings)
    push = await respect(conn, window, settings)
    overall = total(by_source.funnel)
    revenue = sum(v.revenue for v in by_source.values)
    cost = sum(v.cost or 0.0 for v in by_source.values)
    proactive = sum(w.messages for w in push.load)
    offers = sum(w.offers for w in push.load)
    kpis = [
        (FIGURES["joined"], overall.steps["joined"]),
        (FIGURES["purchased"], overall.steps["purchased"]),
        (FIGURES["revenue"], revenue),
        (FIGURES["cost"], cost if cost else None),
        (FIGURES["ltv_cac"], (revenue / cost) if cost else None),
        (FIGURES["offers_share"], offers / proactive if proactive else None),
    ]
    report_tables = [
        figure_tables.funnel_table(by_source.funnel),
        figure_tables.sources_table(by_source.values),
        figure_tables.cohorts_table(cohort_data.cohorts, window),
        figure_tables.repurchase_table(cohort_data.repurchase),
        figure_tables.referrals_table(by_source.referrals),
        figure_tables.load_table(push.load, window, settings.weekly_cap),
        figure_tables.gate_table(push.gate),
        figure_tables.campaigns_table(push.campaigns),
        figure_tables.funnel_table(weekly, window),
    ]
    sections = [
        ("The loop", [charts.funnel_by_source(weekly)], report_tables[0:1]),
        (
            "Sources: cost and value",
            [charts.ltv_vs_cac(by_source.values, config.shop.currency)],
            report_tables[1:2],
        ),
        ("Cohorts", [charts.cohort_heatmap(cohort_data.cohorts, window)], report_tables[2:5]),
        (
            "Respect: are members pushed too much?",
            [
                charts.load_vs_cap(push.load, window, settings.weekly_cap),
                charts.offers_share(push.load, window),
                charts.gate_reasons(push.gate),
            ],
            report_tables[5:8],
        ),
    ]
    rendered = [
        (title, [figure_html(chart) for chart in figs], section_tables)
        for title, figs, section_tables in sections
    ]
    _write_html(
        out,
        window=window,
        generated=now,
        kpis=kpis,
        sections=rendered,
        weekly_table=report_tables[8],
        figures=FIGURES.values(),
        plotly_js=get_plotlyjs(),
        currency=config.shop.currency,
        empty=empty,
    )
    result = ReportResult(out, window)
    if csv_dir is not None:
        result.csv_files = _write_tables(csv_dir, report_tables)
        path = csv_dir / "members.csv"
        result.members = await write_member_csv(conn, window, path)
        result.csv_files.append(path)
    return result


def _write_html(out: Path, **context: object) -> None:
    """Rendered chunk by chunk into a temporary file, then moved into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".tmp")
    with partial.open("w", encoding="utf-8") as handle:
        for chunk in templates().get_template("report.html").generate(**context):
            handle.write(chunk)
    partial.replace(out)


def _write_tables(directory: Path, found: list[figure_tables.Table]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    return [table.write_csv(directory) for table in found]


MEMBER_COLUMNS = (
    "member_id",
    "source",
    "joined_at",
    "stage",
    "trust",
    "engaged",
    "offered",
    "orders",
    "revenue",
    "opted_out",
    "reachable",
)


async def member_rows(conn: AsyncConnection, window: Window) -> AsyncIterator[tuple[object, ...]]:
    """One row per member who joined in the window, streamed in batches."""
    totals = order_totals(window)
    stmt = (
        select(
            members.c.id,
            source_of(),
            members.c.joined_at,
            journeys.c.stage,
            journeys.c.trust,
            case((engaged(), 1), else_=0),
            case((journeys.c.first_offer_at < window.end, 1), else_=0),
            func.coalesce(totals.c.orders, 0),
            func.coalesce(totals.c.revenue, 0),
            members.c.opted_out,
            members.c.reachable,
        )
        .select_from(
            members.outerjoin(journeys, journeys.c.member_id == members.c.id).outerjoin(
                totals, totals.c.member_id == members.c.id
            )
        )
        .where(joined_in(window))
        .order_by(members.c.id)
        .execution_options(yield_per=MEMBER_CSV_BATCH)
    )
    result = await conn.stream(stmt)
    async for partition in result.partitions(MEMBER_CSV_BATCH):
        for row in partition:
            yield tuple(row)


async def write_member_csv(conn: AsyncConnection, window: Window, path: Path) -> int:
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(MEMBER_COLUMNS)
        async for row in member_rows(conn, window):
            joined = row[2]
            assert isinstance(joined, datetime)
            writer.writerow([*row[:2], joined.isoformat(), *row[3:]])
            count += 1
    return count
