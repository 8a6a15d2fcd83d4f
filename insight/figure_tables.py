"""Figures as tables: one shape for the report, the dashboard and the CSV files.

A column names the figure it shows, so its header carries the definition as
a tooltip and its cells are formatted the figure's way; CSV gets raw values.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from insight.definitions import FIGURES, FUNNEL_STEPS, Figure, Unit
from insight.queries.cohorts import Cohort, Referrals, Repurchase
from insight.queries.funnel import FunnelRow
from insight.queries.money import LTV_HORIZONS, SourceValue
from insight.queries.respect import CampaignOptOuts, GateCount, WeekLoad
from insight.window import Window


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    figure: Figure | None = None
    #: words, not numbers: aligned left
    text: bool = False

    @property
    def hint(self) -> str:
        return self.figure.definition if self.figure else ""

    def show(self, value: Any, currency: str | None = None) -> str:
        if self.figure is not None and (value is None or isinstance(value, int | float)):
            return self.figure.format(value, currency)
        return "–" if value is None else str(value)


def fig(key: str, name: str | None = None) -> Column:
    figure = FIGURES[key]
    return Column(name or figure.label, figure)


TEXT = Figure("text", "", Unit.COUNT, "")


@dataclass(slots=True)
class Table:
    slug: str
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)

    def shown(self, currency: str | None = None) -> Iterable[list[str]]:
        for row in self.rows:
            yield [col.show(v, currency) for col, v in zip(self.columns, row, strict=True)]

    def write_csv(self, directory: Path) -> Path:
        path = directory / f"{self.slug}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([c.figure.key if c.figure else c.name for c in self.columns])
            writer.writerows(self.rows)
        return path


def funnel_table(rows: Sequence[FunnelRow], window: Window | None = None) -> Table:
    by_week = bool(rows) and rows[0].week is not None
    columns = [Column("source", text=True)]
    if by_week:
        columns.append(Column("join week", text=True))
    for step in FUNNEL_STEPS:
        columns.append(fig(step))
        if step != "joined":
            columns.append(fig("step_conversion", "→ %"))
    table = Table("funnel_by_week" if by_week else "funnel", "The loop, step by step", columns)
    for row in rows:
        cells: list[Any] = [row.source]
        if by_week:
            assert window is not None and row.week is not None
            cells.append(f"{window.week_start(row.week):%Y-%m-%d}")
        for step in FUNNEL_STEPS:
            cells.append(row.steps[step])
            if step != "joined":
                conversion = row.conversion(step)
                cells.append(None if conversion is None else round(conversion, 4))
        table.rows.append(cells)
    return table


def sources_table(values: Sequence[SourceValue]) -> Table:
    columns = [
        Column("source", text=True),
        fig("joined"),
        Column("cost basis", text=True),
        fig("cost"),
        fig("cac"),
        fig("revenue"),
        *[fig(f"ltv_{d}") for d in LTV_HORIZONS],
        fig("ltv"),
        fig("ltv_cac"),
        fig("payback_days"),
    ]
    table = Table("sources", "Cost and value per source", columns)
    for v in values:
        table.rows.append(
            [
                v.source,
                v.joined,
                v.cost_basis,
                v.cost,
                v.cac,
                v.revenue,
                *[v.ltv_within(d) for d in LTV_HORIZONS],
                v.ltv,
                v.ltv_cac,
                v.payback_days,
            ]
        )
    return table


def cohorts_table(found: Sequence[Cohort], window: Window, weeks: int = 13) -> Table:
    columns = [Column("join week", text=True), fig("joined", "members"), fig("still_reachable")]
    columns += [fig("retention", f"week {n}") for n in range(weeks)]
    table = Table("cohorts", "Retention by join week", columns)
    for c in found:
        age = (window.end - window.week_start(c.week)).days // 7
        table.rows.append(
            [
                f"{window.week_start(c.week):%Y-%m-%d}",
                c.size,
                round(c.still_reachable / c.size, 4) if c.size else None,
                *[None if n > age else round(c.retention(n) or 0.0, 4) for n in range(weeks)],
            ]
        )
    return table


def repurchase_table(found: Sequence[Repurchase]) -> Table:
    columns = [
        Column("product", text=True),
        Column("cycle (days)"),
        Column("buyers"),
        Column("bought again"),
        fig("repurchase_rate"),
    ]
    table = Table("repurchase", "Repurchase by product cycle", columns)
    table.rows = [[r.sku, round(r.cycle_days, 1), r.buyers, r.again, r.rate] for r in found]
    return table


def referrals_table(found: Sequence[Referrals]) -> Table:
    columns = [
        Column("source", text=True),
        fig("joined"),
        Column("referrers"),
        Column("friends"),
        fig("referral_rate"),
        fig("k_factor"),
        fig("referred_revenue"),
    ]
    table = Table("referrals", "Referrals", columns)
    table.rows = [
        [
            r.source,
            r.members,
            r.referrers,
            r.friends,
            r.referral_rate,
            r.k_factor,
            r.referred_revenue,
        ]
        for r in found
    ]
    return table


def load_table(load: Sequence[WeekLoad], window: Window, cap: int | None) -> Table:
    columns = [
        Column("week", text=True),
        Column("proactive sent"),
        Column("members reached"),
        fig("proactive_per_member_week"),
        fig("max_per_member_week"),
        Column(f"members over the cap ({cap if cap is not None else 'none'})"),
        fig("offers_share"),
    ]
    table = Table("push_load", "Proactive messages per week", columns)
    table.rows = [
        [
            f"{w.start:%Y-%m-%d}",
            w.messages,
            w.members,
            w.per_member,
            w.max_per_member,
            w.over_cap,
            w.offers_share,
        ]
        for w in load
    ]
    return table


def gate_table(counts: Sequence[GateCount]) -> Table:
    table = Table(
        "gate_decisions",
        "Gate decisions",
        [
            Column("category", text=True),
            Column("outcome", text=True),
            Column("reason", text=True),
            fig("gate_outcomes", "decisions"),
        ],
    )
    table.rows = [[c.category, c.outcome, c.reason or "—", c.count] for c in counts]
    return table


def campaigns_table(found: Sequence[CampaignOptOuts]) -> Table:
    table = Table(
        "campaign_optouts",
        "Opt-outs after campaigns",
        [
            Column("campaign", text=True),
            Column("recipients"),
            Column("opted out"),
            fig("optout_rate"),
        ],
    )
    table.rows = [[c.campaign_id, c.recipients, c.opted_out, c.rate] for c in found]
    return table
