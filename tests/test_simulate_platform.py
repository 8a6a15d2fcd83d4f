"""`warmline simulate --platform wecom`: the playbook by WeCom's kf window."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from bot.adapter import MassLimit
from bot.cli import app
from simulate.platform import MassWatch

runner = CliRunner()


INVARIANTS = (
    "sends_outside_platform_window",
    "mass_sends_over_limit",
    "offers_before_eligible",
    "cap_breaches",
    "quiet_hour_sends",
    "sends_after_optout",
    "stale_sends",
)


def _simulate(tmp_path: Path, *extra: str, config_text: str = "") -> dict[str, object]:
    config = tmp_path / "config.yaml"
    config.write_text("knowledge:\n  enabled: false\n" + config_text)
    out = tmp_path / f"sim{len(extra)}.json"
    args = ["simulate", "-c", str(config), "--members", "60", "--days", "21", "--seed", "3"]
    result = runner.invoke(app, [*args, "--json", str(out), *extra])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(out.read_text())
    return data


def test_wecom_rules_defer_what_the_window_would_refuse(tmp_path: Path) -> None:
    local = _simulate(tmp_path)
    wecom = _simulate(tmp_path, "--platform", "wecom")
    assert (local["platform"], wecom["platform"]) == ("local", "wecom")
    reasons = wecom["gate_reasons"]
    assert isinstance(reasons, dict) and reasons.get("deferred:platform_window", 0) > 0
    assert "deferred:platform_window" not in local["gate_reasons"]  # type: ignore[operator]
    for result in (local, wecom):
        for invariant in INVARIANTS:
            assert result[invariant] == 0, (result["platform"], invariant)
    # members who do not write get fewer proactive messages on WeCom
    assert wecom["messages_proactive"] < local["messages_proactive"]  # type: ignore[operator]


def test_an_unknown_platform_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("knowledge:\n  enabled: false\n")
    result = runner.invoke(app, ["simulate", "-c", str(config), "--platform", "wechat"])
    assert result.exit_code == 2 and "local or wecom" in result.output


def test_batch_pushes_send_what_the_window_refuses_by_daily_mass_sends(tmp_path: Path) -> None:
    """``--batch-pushes``: the window's deferrals mostly become mass messages, and with
    a long mass-send period (one per 5 days) the platform's cap holds some back; nobody
    gets a kf message outside the window or more mass messages than the limit."""
    limit = "bot:\n  wecom:\n    mass_send_limit: {count: 1, period: 5d}\n"
    waiting = _simulate(tmp_path, "--platform", "wecom", config_text=limit)
    batched = _simulate(tmp_path, "--platform", "wecom", "--batch-pushes", config_text=limit)
    assert (waiting["batch_pushes"], batched["batch_pushes"]) == (False, True)
    assert waiting["mass_sends"] == 0 and batched["mass_sends"] > 0  # type: ignore[operator]
    held, sent = waiting["gate_reasons"], batched["gate_reasons"]
    assert isinstance(held, dict) and isinstance(sent, dict)
    assert sent["deferred:platform_window"] < held["deferred:platform_window"]
    assert sent.get("dropped:platform_cap", 0) > 0 and "dropped:platform_cap" not in held
    for result in (waiting, batched):
        for invariant in INVARIANTS:
            assert result[invariant] == 0, (result["batch_pushes"], invariant)


def test_the_mass_watch_counts_what_is_over_the_limit() -> None:
    watch = MassWatch(MassLimit(1, timedelta(days=1)))
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    for hours in (0, 23, 48):
        watch.delivered("m1", start + timedelta(hours=hours))
    assert (watch.sent, watch.over) == (3, 1)


def test_batch_pushes_need_the_wecom_platform(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("knowledge:\n  enabled: false\n")
    result = runner.invoke(app, ["simulate", "-c", str(config), "--batch-pushes"])
    assert result.exit_code == 2 and "--platform wecom" in result.output
