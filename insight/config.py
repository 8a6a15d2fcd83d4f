"""``insight:`` — metrics, report and dashboard: the insight feature's own config
section (``Feature.config``; the core does not know it)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import Field, field_validator, model_validator

from bot.config.checks import KeyProblem, ListenAddress
from bot.config.duration import Duration
from bot.config.section import Section
from bot.extras import INSIGHT, missing

if TYPE_CHECKING:
    from bot.config.model import WarmlineConfig

#: the top-level key, the feature's name
SECTION = "insight"

#: what ``warmline insight hash-password`` prints: ``scrypt$n$r$p$salt_hex$hash_hex``
HASH_PREFIX = "scrypt$"


class SourceCost(Section):
    """What one acquisition source costs: per member, or a spend per period."""

    cost_per_member: float | None = Field(default=None, ge=0)
    spend: float | None = Field(default=None, ge=0)
    #: the period ``spend`` covers; spend is pro-rated to the report window
    period: Duration = timedelta(days=30)

    @model_validator(mode="after")
    def _one_cost_model(self) -> SourceCost:
        if self.cost_per_member is not None and self.spend is not None:
            raise ValueError("set either cost_per_member or spend, not both")
        if self.spend is not None and self.period.total_seconds() <= 0:
            raise ValueError("period must be longer than 0 when spend is set")
        return self


class DashboardAdmin(Section):
    username: str = Field(min_length=1, max_length=64)
    #: from ``warmline insight hash-password``; never a plain password
    password_hash: str

    @field_validator("password_hash")
    @classmethod
    def _hashed(cls, value: str) -> str:
        if not value.startswith(HASH_PREFIX) or value.count("$") != 5:
            raise ValueError(
                "must be a hash made by `warmline insight hash-password`, not a plain password"
            )
        return value


class LoginLimitConfig(Section):
    """Password guessing on the dashboard's login form (README "Running several workers")."""

    #: failed logins per user name within ``window``, then 429 until the oldest expires
    per_user: int = Field(default=5, ge=1)
    #: login attempts per client address within ``window``
    per_address: int = Field(default=30, ge=1)
    window: Duration = timedelta(minutes=15)


class DashboardConfig(Section):
    enabled: bool = False
    #: same address as the webhook server → served by it; another → its own server
    listen: ListenAddress = "127.0.0.1:8081"
    #: public base URL used in one-time login links sent to bot admins
    public_url: str | None = None
    admins: list[DashboardAdmin] = Field(default_factory=list)
    session_ttl: Duration = timedelta(hours=8)
    login_link_ttl: Duration = timedelta(minutes=10)
    login_limit: LoginLimitConfig = LoginLimitConfig()
    #: behind a TLS-terminating proxy: trust its ``X-Forwarded-Proto: https`` and mark
    #: the session cookie ``Secure``
    trust_forwarded_proto: bool = False
    #: behind one reverse proxy: the client address is the last ``X-Forwarded-For`` hop
    #: (the login limit per address counts clients, not the proxy)
    trust_forwarded_for: bool = False


class MetricsConfig(Section):
    #: serve Prometheus metrics at /metrics on the dashboard's address
    enabled: bool = False


class InsightConfig(Section):
    sources: dict[str, SourceCost] = Field(default_factory=dict)
    dashboard: DashboardConfig = DashboardConfig()
    metrics: MetricsConfig = MetricsConfig()

    @model_validator(mode="after")
    def _extras_installed(self) -> InsightConfig:
        """The dashboard and /metrics need the ``insight`` extra (plotly, Jinja2)."""
        dashboard, metrics = self.dashboard.enabled, self.metrics.enabled
        if dashboard or metrics:
            what = "dashboard" if dashboard else "metrics"
            problem = missing(INSIGHT, f"{SECTION}.{what}.enabled")
            if problem is not None:
                raise KeyProblem(f"{what}.enabled", problem)
        return self


def insight_config(config: WarmlineConfig) -> InsightConfig:
    """The ``insight:`` section of ``config`` (its defaults when insight is not loaded)."""
    return config.section(SECTION, InsightConfig)
