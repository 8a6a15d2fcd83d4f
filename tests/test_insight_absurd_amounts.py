"""Orders with absurd amounts already in the database (stored before amounts were
bounded, or written by hand) do not break the overview, the sources page or the
report: they are left out of every sum, with a warning, and the rest still adds up."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest
from insight_history import END, ORDERS, WINDOW, build_history, day
from sqlalchemy import insert

from bot.config.model import WarmlineConfig
from bot.schema import with_feature_tables
from insight import charts, figure_tables, pages
from insight.report import write_report
from storage.database import Database
from storage.flow_tables import Order

ABSURD = [
    {**ORDERS[0], "external_id": f"huge{n}", "amount": amount, "at": day(13)}
    for n, amount in enumerate((1e308, 1e308, -1e308, 5e15))
]


async def figures(db: Database) -> tuple[str, str]:
    config = WarmlineConfig.model_validate({"storage": {"database_url": db.url}})
    settings = pages.Settings.of(config)
    async with db.engine.begin() as conn:
        overview = await pages.overview(conn, WINDOW, settings, END)
        sources = await pages.sources(conn, WINDOW, settings, config)
    found = [
        figure_tables.funnel_table(overview.funnel),
        figure_tables.sources_table(sources.values),
        figure_tables.funnel_table(sources.funnel),
    ]
    for figure in (charts.funnel_by_source(overview.funnel), charts.ltv_vs_cac(sources.values)):
        figure.to_json()
    body = json.dumps(
        [[t.title, t.rows] for t in found] + [dataclasses.asdict(overview.today)],
        default=str,
        allow_nan=False,
    )
    return body, str(sum(v.revenue for v in sources.values))


async def test_stored_absurd_amounts_are_left_out_with_a_warning(
    database_url: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    db = with_feature_tables(Database(database_url))
    try:
        await db.migrate()
        await build_history(db.engine)
        _, clean_revenue = await figures(db)
        async with db.engine.begin() as conn:
            await conn.execute(insert(Order), ABSURD)
        with caplog.at_level(logging.WARNING):
            _, revenue = await figures(db)
    finally:
        await db.close()
    config = WarmlineConfig.model_validate({"storage": {"database_url": database_url}})
    report = await write_report(config, WINDOW, tmp_path / "r.html", tmp_path / "csv", now=END)
    written = "".join(path.read_text() for path in [report.html, *report.csv_files])
    assert report.csv_files and "e+308" not in written and "inf," not in written
    assert revenue == clean_revenue
    assert "left out" in caplog.text and "4 orders" in caplog.text
