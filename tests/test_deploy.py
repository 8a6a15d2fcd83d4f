"""deploy/ is what users copy: its config passes `warmline config check` and the
compose file wires N workers to one config, one database and one Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bot.adapters.telegram_platform import telegram_config
from bot.cli import app as cli
from bot.config.loader import load_config
from insight.config import insight_config

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
ENV = {
    "TELEGRAM_BOT_TOKEN": "123456:ABCDEF",
    "WARMLINE_DATABASE_URL": "postgresql+asyncpg://warmline:pw@postgres:5432/warmline",
    "WARMLINE_REDIS_URL": "redis://redis:6379/0",
}


def test_the_deploy_config_is_valid_and_fits_max_connections() -> None:
    config = load_config(DEPLOY / "config.yaml", env=ENV)
    assert telegram_config(config).mode == "webhook"
    assert insight_config(config).dashboard.trust_forwarded_proto
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    postgres = compose["services"]["postgres"]["command"]
    max_connections = int(postgres[postgres.index("-c") + 1].split("=")[1])
    workers = [name for name in compose["services"] if name.startswith("worker")]
    per_worker = config.storage.pool_size + config.storage.max_overflow + 4  # + scheduler
    dashboard = config.storage.pool_size + config.storage.max_overflow
    assert len(workers) == 3
    assert len(workers) * per_worker + dashboard < max_connections


def test_compose_runs_workers_from_one_config_after_one_upgrade() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert services["migrate"]["command"][:2] == ["db", "upgrade"]
    for name in ("worker1", "worker2", "worker3"):
        worker = services[name]
        assert worker["command"][0] == "run"
        assert worker["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert worker["environment"]["WARMLINE_LISTEN"] == "0.0.0.0:8080"
        assert "/readyz" in " ".join(worker["healthcheck"]["test"])
    assert "--appendonly" in services["redis"]["command"]
    caddy = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    assert all(f"worker{n}:8080" in caddy for n in (1, 2, 3)) and "/readyz" in caddy
    unit = (DEPLOY / "warmline@.service").read_text(encoding="utf-8")
    assert "Environment=WARMLINE_LISTEN=127.0.0.1:%i" in unit and "Restart=always" in unit


def test_config_check_accepts_the_deploy_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(cli, ["config", "check", "-c", str(DEPLOY / "config.yaml")])
    assert result.exit_code == 0, result.output


def test_a_malformed_listen_override_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.errors import ConfigError
    from bot.web import listen_address

    monkeypatch.setenv("WARMLINE_LISTEN", "8080")
    with pytest.raises(ConfigError, match="WARMLINE_LISTEN"):
        listen_address("127.0.0.1:8080")
    monkeypatch.setenv("WARMLINE_LISTEN", "127.0.0.1:8082")
    assert listen_address("127.0.0.1:8080") == "127.0.0.1:8082"
