"""A third party's feature brings its own tables and its own config section through the
one registry (bot.features.Feature: ``migrations``, ``config``), as a package would.

The feature here is written out as a module and a folder of revision scripts, and
registered as its ``warmline.features`` entry point would register it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from feature_support import install_feature
from feature_support import write_config as write
from sqlalchemy import text
from typer.testing import CliRunner

from bot.app import App
from bot.cli import app as cli
from bot.config import load_config
from bot.errors import ConfigError
from bot.features import migration_locations
from storage.database import alembic_config

FEATURE_MODULE = '''
"""Low-stock alerts: a table of its own and a config section of its own."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from bot.app import App
from bot.features import Feature
from storage.database import Database


class StockConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str
    threshold: int = Field(default=5, ge=1)


class StockAlerts:
    def __init__(self, database: Database, settings: StockConfig) -> None:
        self.database = database
        self.settings = settings

    async def note(self, sku: str, left: int) -> bool:
        """Record a low stock level; True when it is below the configured threshold."""
        low = left < self.settings.threshold
        if low:
            async with self.database.transaction() as conn:
                await conn.execute(
                    text("INSERT INTO stock_alerts (sku, amount_left) VALUES (:sku, :left)"),
                    {"sku": sku, "left": left},
                )
        return low

    async def alerts(self) -> list[tuple[str, int]]:
        async with self.database.reading() as conn:
            rows = await conn.execute(text("SELECT sku, amount_left FROM stock_alerts ORDER BY id"))
            return [(row[0], row[1]) for row in rows]


def install(app: App) -> None:
    settings = app.config.section("stock_alerts", StockConfig)
    app.services.provide(StockAlerts(app.database, settings))


FEATURE = Feature(
    "stock_alerts",
    install,
    order=60,
    config=StockConfig,
    migrations=Path(__file__).with_name("stock_migrations"),
)
'''

REVISION = '''
"""stock_alerts: its table (a branch off the core chain)."""

import sqlalchemy as sa
from alembic import op

revision = "stock_0001"
down_revision = None
branch_labels = ("stock_alerts",)
depends_on = {core_heads}


def upgrade() -> None:
    op.create_table(
        "stock_alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("amount_left", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("stock_alerts")
'''


@pytest.fixture
def stock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The feature installed: its module, its revisions, its entry point."""
    package = tmp_path / "site"
    (package / "stock_migrations").mkdir(parents=True)
    (package / "stock_alerts.py").write_text(FEATURE_MODULE, "utf-8")
    core_heads = tuple(
        ScriptDirectory.from_config(alembic_config(None, migration_locations())).get_heads()
    )
    (package / "stock_migrations" / "stock_0001_table.py").write_text(
        REVISION.replace("{core_heads}", repr(core_heads)), "utf-8"
    )
    install_feature(monkeypatch, package, "stock_alerts")
    return tmp_path


def test_the_section_is_validated_naming_the_key_and_line(stock: Path) -> None:
    path = write(
        stock,
        "features: [stock_alerts]\nstock_alerts:\n  channel: '@shop'\n  threshold: 0\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert str(caught.value) == (
        f"{path}:4: stock_alerts.threshold: Input should be greater than or equal to 1 (got 0)"
    )
    result = CliRunner().invoke(cli, ["config", "check", "-c", str(path)])
    assert result.exit_code == 2
    assert "stock_alerts.threshold: Input should be greater than or equal to 1" in " ".join(
        result.output.split()
    )
    missing = write(stock, "features: [stock_alerts]\nstock_alerts: {threshold: 3}\n")
    with pytest.raises(ConfigError, match=r"config.yaml:2: stock_alerts.channel: is required"):
        load_config(missing, env={})


def test_a_misspelt_section_is_still_an_unknown_key(stock: Path) -> None:
    path = write(stock, "stock_alert:\n  channel: '@shop'\n")
    with pytest.raises(ConfigError, match=r"config.yaml:1: stock_alert: unknown key"):
        load_config(path, env={})


def test_a_feature_without_a_section_refuses_one(stock: Path) -> None:
    path = write(stock, "features: [callbacks]\ncallbacks: {x: 1}\n")
    with pytest.raises(
        ConfigError, match=r"config.yaml:2: callbacks: the feature has no config section"
    ):
        load_config(path, env={})


def test_the_section_of_a_feature_left_out_is_noted_not_checked(stock: Path) -> None:
    path = write(stock, "features: [callbacks]\nstock_alerts: {threshold: 0}\n")
    config = load_config(path, env={})
    assert config.warnings == [
        "stock_alerts: the section of a feature that features: leaves out; not checked"
    ]
    result = CliRunner().invoke(cli, ["config", "check", "-c", str(path)])
    assert result.exit_code == 0, result.output
    assert "stock_alerts: the section of a feature that features: leaves out" in " ".join(
        result.output.split()
    )


async def test_the_feature_migrates_its_own_table_on_sqlite(stock: Path) -> None:
    path = write(
        stock,
        f"features: [stock_alerts]\nstock_alerts: {{channel: '@shop', threshold: 4}}\n"
        f"storage: {{database_url: 'sqlite+aiosqlite:///{stock}/w.db'}}\n",
    )
    app = App(load_config(path, env={}))
    await app.start()
    try:
        from stock_alerts import StockAlerts  # type: ignore[import-not-found]

        alerts = app.services.require(StockAlerts)
        assert alerts.settings.threshold == 4 and alerts.settings.channel == "@shop"
        assert await alerts.note("oolong", 3) and not await alerts.note("puer", 9)
        assert await alerts.alerts() == [("oolong", 3)]
        async with app.database.reading() as conn:
            versions = set(
                (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars()
            )
        assert versions == {"stock_0001"}  # alembic records the core's heads below it
    finally:
        await app.stop()


async def test_on_postgresql_db_upgrade_brings_the_features_table(stock: Path, pg_url: str) -> None:
    path = write(
        stock,
        f"features: [stock_alerts]\nstock_alerts: {{channel: '@shop'}}\n"
        f"storage: {{database_url: '{pg_url}'}}\n",
    )
    before = App(load_config(path, env={}))
    with pytest.raises(ConfigError) as caught:  # the core's schema check sees the branch
        await before.start()
    await before.stop()
    heads = sorted(
        {
            *ScriptDirectory.from_config(alembic_config(None, migration_locations())).get_heads(),
            "stock_0001",
        }
    )
    assert str(caught.value) == (
        f"storage.database_url: the database schema is not current (at nothing, need {heads}); "
        "run `warmline db upgrade -c FILE`"
    )
    # the command runs its own event loop: off this one
    upgraded = await asyncio.to_thread(CliRunner().invoke, cli, ["db", "upgrade", "-c", str(path)])
    assert upgraded.exit_code == 0, upgraded.output
    app = App(load_config(path, env={}))
    await app.start()
    try:
        from stock_alerts import StockAlerts

        alerts = app.services.require(StockAlerts)
        assert alerts.settings.threshold == 5
        assert await alerts.note("oolong", 1)
        assert await alerts.alerts() == [("oolong", 1)]
    finally:
        await app.stop()
