"""Every figure Warmline reports, defined once.

The description is the definition: the README's metric table, the dashboard
tooltips and the report's hover text are all rendered from :data:`FIGURES`,
so a figure cannot mean one thing in one place and another elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.i18n.money import money


class Unit(StrEnum):
    COUNT = "count"
    SHARE = "share"
    MONEY = "money"
    DAYS = "days"
    RATIO = "ratio"
    PER_MEMBER = "per member"


@dataclass(frozen=True, slots=True)
class Figure:
    key: str
    label: str
    unit: Unit
    definition: str

    def format(self, value: float | None, currency: str | None = None) -> str:
        """As people read it; money carries the shop's currency when it is given."""
        if value is None:
            return "–"
        if self.unit is Unit.SHARE:
            return f"{value * 100:.1f}%"
        if self.unit is Unit.COUNT:
            return f"{int(value):,}"
        if self.unit is Unit.DAYS:
            return f"{value:.0f} d"
        if self.unit is Unit.RATIO:
            return f"{value:.2f}×"
        if self.unit is Unit.MONEY and currency:
            return money(value, currency)
        return f"{value:,.2f}"


#: the five-step loop as funnel steps, in order
FUNNEL_STEPS = ("joined", "engaged", "trusted", "offered", "purchased", "repurchased", "referred")

_ALL = (
    # the loop
    Figure(
        "joined",
        "Joined",
        Unit.COUNT,
        "Members whose first contact (joining a group or starting the bot) falls in the period.",
    ),
    Figure(
        "engaged",
        "Engaged",
        Unit.COUNT,
        "Joined members who did something themselves at least once: wrote, replied, asked a "
        "question, opened content or pressed a button.",
    ),
    Figure(
        "trusted",
        "Trusted",
        Unit.COUNT,
        "Joined members whose trust score has reached flows.offer.min_trust (counting every "
        "offered member: an offer is only sent once it has, even if it fell since).",
    ),
    Figure(
        "offered",
        "Offered",
        Unit.COUNT,
        "Joined members who were sent their first soft offer before the end of the period.",
    ),
    Figure("purchased", "Purchased", Unit.COUNT, "Joined members with at least one order."),
    Figure("repurchased", "Repurchased", Unit.COUNT, "Joined members with at least two orders."),
    Figure(
        "referred",
        "Referred",
        Unit.COUNT,
        "Joined members who brought at least one friend (a member who joined with their referral code).",
    ),
    Figure(
        "step_conversion",
        "Step conversion",
        Unit.SHARE,
        "Members at a funnel step who also reached the step before it ÷ members at the step "
        "before it, same source and join week (never above 100%); referred ÷ purchased, since "
        "the referral invite follows a purchase.",
    ),
    # money
    Figure(
        "cost",
        "Acquisition cost",
        Unit.MONEY,
        "What the source cost in the period: cost_per_member × members joined, or spend "
        "pro-rated from its period to the days the source brought members in the period (whole "
        "UTC days from its first to its last member joined), so days before or after the data do "
        "not change it. Admin-set costs override the config.",
    ),
    Figure(
        "cac",
        "CAC",
        Unit.MONEY,
        "Customer acquisition cost: acquisition cost ÷ members joined from the source in the period.",
    ),
    Figure(
        "revenue",
        "Revenue",
        Unit.MONEY,
        "Sum of order amounts, to the end of the period, of members who joined in the period.",
    ),
    Figure(
        "ltv_30",
        "LTV 30 d",
        Unit.MONEY,
        "Revenue in each member's first 30 days ÷ members; only members who joined at least 30 days "
        "before the end of the period count.",
    ),
    Figure(
        "ltv_90",
        "LTV 90 d",
        Unit.MONEY,
        "Revenue in each member's first 90 days ÷ members who joined at least 90 days before the end.",
    ),
    Figure(
        "ltv_180",
        "LTV 180 d",
        Unit.MONEY,
        "Revenue in each member's first 180 days ÷ members who joined at least 180 days before the end.",
    ),
    Figure(
        "ltv",
        "LTV to date",
        Unit.MONEY,
        "Revenue to the end of the period ÷ members joined in the period.",
    ),
    Figure(
        "ltv_cac",
        "LTV ÷ CAC",
        Unit.RATIO,
        "LTV to date ÷ CAC; above 3 is healthy, below 1 means the source loses money.",
    ),
    Figure(
        "payback_days",
        "Payback",
        Unit.DAYS,
        "Days after joining until the cumulative revenue per member reaches the CAC; empty if not yet.",
    ),
    # cohorts
    Figure(
        "retention",
        "Active in week N",
        Unit.SHARE,
        "Members of a join-week cohort who did something themselves in their N-th week after joining "
        "and are still reachable and not opted out ÷ cohort size.",
    ),
    Figure(
        "still_reachable",
        "Still reachable",
        Unit.SHARE,
        "Members of the cohort the bot can still message (not blocked, not opted out) ÷ cohort size.",
    ),
    Figure(
        "repurchase_rate",
        "Repurchase rate",
        Unit.SHARE,
        "Buyers whose first order is at least one product cycle old and who ordered again within "
        "1.5 cycles ÷ those buyers (per product).",
    ),
    Figure(
        "referral_rate",
        "Referral rate",
        Unit.SHARE,
        "Members who referred at least one friend ÷ members joined.",
    ),
    Figure(
        "k_factor",
        "K-factor",
        Unit.RATIO,
        "Friends who joined through referral codes of the period's members ÷ the period's members.",
    ),
    Figure(
        "referred_revenue",
        "Referred revenue",
        Unit.MONEY,
        "Revenue to date from members who joined through a referral code.",
    ),
    # respect
    Figure(
        "proactive_per_member_week",
        "Proactive per member per week",
        Unit.PER_MEMBER,
        "Proactive messages sent (not replies, not transactional) in a week ÷ members who received "
        "at least one that week; compare with push.caps.per_week.",
    ),
    Figure(
        "max_per_member_week",
        "Most to one member in a week",
        Unit.COUNT,
        "The largest number of proactive messages one member received in one week.",
    ),
    Figure(
        "offers_share",
        "Offers share",
        Unit.SHARE,
        "Offers sent ÷ proactive messages sent; the 80/20 rule keeps it at or below 20%.",
    ),
    Figure(
        "optout_rate",
        "Opt-out after campaign",
        Unit.SHARE,
        "Recipients of a campaign who opted out within 7 days after it reached them ÷ recipients.",
    ),
    Figure(
        "gate_outcomes",
        "Gate decisions",
        Unit.COUNT,
        "Push gate decisions in the period by outcome (sent, deferred, dropped) and reason.",
    ),
    Figure(
        "handoffs",
        "Handoffs",
        Unit.COUNT,
        "Conversations handed to a person: questions the knowledge base could not answer, buyers "
        "the after-sales flow found unhappy (tagged needs-care), and other recorded handoffs.",
    ),
)

FIGURES: dict[str, Figure] = {figure.key: figure for figure in _ALL}


def figure(key: str) -> Figure:
    try:
        return FIGURES[key]
    except KeyError:
        raise KeyError(f"no figure named {key!r}; see insight/definitions.py") from None


def markdown_table() -> str:
    """The README's definition table, generated (tests keep the README in step)."""
    lines = ["| figure | definition |", "|---|---|"]
    lines += [f"| {f.label} (`{f.key}`) | {f.definition} |" for f in _ALL]
    return "\n".join(lines)
