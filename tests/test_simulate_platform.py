"""`warmline simulate --platform wecom`: the playbook by WeCom's kf window."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app

runner = CliRunner()


def _simulate(tmp_path: Path, *extra: str) -> dict[str, object]:
    config = tmp_path / "config.yaml"
    config.write_text("knowledge:\n  enabled: false\n")
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
        for invariant in (
            "sends_outside_platform_window",
            "offers_before_eligible",
            "cap_breaches",
            "quiet_hour_sends",
            "sends_after_optout",
            "stale_sends",
        ):
            assert result[invariant] == 0, (result["platform"], invariant)
    # members who do not write get fewer proactive messages on WeCom
    assert wecom["messages_proactive"] < local["messages_proactive"]  # type: ignore[operator]


def test_an_unknown_platform_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("knowledge:\n  enabled: false\n")
    result = runner.invoke(app, ["simulate", "-c", str(config), "--platform", "wechat"])
    assert result.exit_code == 2 and "local or wecom" in result.output
