"""The loop's figures as plain data: what ``warmline simulate`` reports in its JSON,
computed by the same queries as the report's tables and the dashboard's API
(:func:`insight.pages.sources`), so one history gives one set of numbers."""

from __future__ import annotations

from typing import Any

from insight.definitions import FUNNEL_STEPS
from insight.pages import Sources
from insight.queries.cohorts import referrals_of
from insight.queries.funnel import FunnelRow, total


def _funnel(row: FunnelRow) -> dict[str, Any]:
    return {
        "steps": dict(row.steps),
        "step_conversion": {
            step: _rounded(row.conversion(step)) for step in FUNNEL_STEPS if step != "joined"
        },
    }


def _rounded(value: float | None, places: int = 4) -> float | None:
    return None if value is None else round(value, places)


def loop_summary(data: Sources) -> dict[str, Any]:
    """``funnel`` (all sources), ``funnel_by_source``, ``referrals`` and ``sources``
    (cost, CAC, revenue, LTV to date, LTV ÷ CAC), keyed by the figures' names."""
    overall = total(data.funnel)
    referrals = {r.source: r for r in referrals_of([overall, *data.funnel])}
    return {
        "funnel": dict(overall.steps),
        "funnel_by_source": {row.source: _funnel(row) for row in [overall, *data.funnel]},
        "referrals": {
            source: {
                "joined": r.members,
                "referrers": r.referrers,
                "friends": r.friends,
                "referral_rate": _rounded(r.referral_rate),
                "k_factor": _rounded(r.k_factor),
                "referred_revenue": round(r.referred_revenue, 2),
            }
            for source, r in referrals.items()
        },
        "sources": {
            v.source: {
                "joined": v.joined,
                "cost": _rounded(v.cost, 2),
                "cac": _rounded(v.cac, 2),
                "revenue": round(v.revenue, 2),
                "ltv": _rounded(v.ltv, 2),
                "ltv_cac": _rounded(v.ltv_cac, 4),
                "payback_days": v.payback_days,
            }
            for v in data.values
        },
    }
