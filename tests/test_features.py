"""Features are plugins: the core imports none of them (tests/test_import_graph.py), each
adds its own commands and file checks, and the ``features:`` config key picks which ones
an App loads."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.app import App
from bot.cli import app as cli
from bot.config import WarmlineConfig, load_config
from bot.context import Context
from bot.dispatcher import Next
from bot.errors import ConfigError
from bot.features import GROUP, feature_names, features

REPO = Path(__file__).resolve().parent.parent


def test_each_feature_adds_its_commands() -> None:
    """The same commands as when bot/cli imported them, each owned by a feature."""
    import typer

    names = {
        info.name or info.callback.__name__ for info in cli.registered_commands if info.callback
    }
    groups = {info.name for info in cli.registered_groups}
    assert names == {"run", "chat", "report", "dashboard", "broadcast", "simulate"}
    assert groups == {"db", "config", "insight", "push", "flows", "kb", "wecom"}
    owners = {}
    for feature in features():
        if feature.commands is not None:
            alone = typer.Typer()
            feature.commands(alone)
            owners[feature.name] = sorted(
                [i.callback.__name__ for i in alone.registered_commands if i.callback]
                + [str(i.name) for i in alone.registered_groups]
            )
    assert owners == {
        "push": ["broadcast", "push"],
        "knowledge": ["kb"],
        "flows": ["flows"],
        "simulate": ["simulate"],
        "insight": ["dashboard", "insight", "report"],
    }


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_unknown_feature_names_the_key_and_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "features: [flows, pushh]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    known = ", ".join(feature_names())
    assert str(caught.value) == f"{path}:1: features: no feature 'pushh' (known: {known})"
    result = CliRunner().invoke(cli, ["config", "check", "-c", str(path)])
    assert result.exit_code == 2
    assert "features: no feature 'pushh'" in " ".join(result.output.split())


def test_a_feature_without_what_it_needs_fails_the_check(tmp_path: Path) -> None:
    path = write(tmp_path, "features: [callbacks, flows]\n")
    config = load_config(path, env={})
    assert config.features == ["callbacks", "flows"]
    with pytest.raises(ConfigError, match=r"features: 'flows' needs 'push'; add it"):
        App(config)
    result = CliRunner().invoke(cli, ["config", "check", "-c", str(path)])
    assert result.exit_code == 2
    assert "features: 'flows' needs 'push'" in " ".join(result.output.split())


async def test_only_the_chosen_features_load(tmp_path: Path) -> None:
    from flows.engine import FlowEngine
    from insight.tracker import ActivityTracker
    from knowledge.service import KnowledgeBase

    config = WarmlineConfig.model_validate(
        {
            "storage": {"database_url": f"sqlite+aiosqlite:///{tmp_path}/w.db"},
            "features": ["push", "flows", "callbacks"],
        }
    )
    app = App(config)
    try:
        assert app.services.find(FlowEngine) is not None
        assert app.services.find(ActivityTracker) is None  # insight: not chosen
        assert app.services.find(KnowledgeBase) is None
        # each chosen feature includes its own routers, in order; no shared handlers
        assert [r.name for r in app.dispatcher.routers] == ["journey", "push", "segments"]
    finally:
        await app.database.close()
    everything = App(config.model_copy(update={"features": None}))
    try:
        assert everything.services.find(ActivityTracker) is not None
    finally:
        await everything.database.close()


def test_every_entry_point_names_its_own_feature() -> None:
    assert [f.name for f in features()] and GROUP == "warmline.features"
    assert sorted(f.name for f in features()) == feature_names()


@pytest.fixture
def shop_hours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The README's feature package, installed as its entry point would install it."""
    from feature_support import install_feature
    from test_readme_examples import blocks

    (tmp_path / "shop_hours.py").write_text(blocks("file")["shop/shop_hours.py"], "utf-8")
    install_feature(monkeypatch, tmp_path, "shop_hours")
    return tmp_path


async def test_a_package_ships_a_feature_as_the_readme_shows(shop_hours: Path) -> None:
    import typer

    assert "shop_hours" in feature_names()
    config = load_config(
        write(
            shop_hours,
            f"features: [shop_hours]\nstorage: {{database_url: 'sqlite+aiosqlite:///{shop_hours}/w.db'}}\n",
        ),
        env={},
    )
    app = App(config)
    try:
        from shop_hours import ShopHours  # type: ignore[import-not-found]

        assert app.services.require(ShopHours).text.startswith("We pack and ship")
        assert [r.name for r in app.dispatcher.routers] == ["shop_hours"]
    finally:
        await app.database.close()
    (feature,) = features(["shop_hours"])
    commands = typer.Typer()

    @commands.callback()
    def group() -> None:
        """A group of commands, as ``warmline`` is (a lone command would be the root)."""

    assert feature.commands is not None
    feature.commands(commands)
    result = CliRunner().invoke(commands, ["hours"])
    assert result.exit_code == 0, result.output
    assert "Monday to Friday" in result.output


async def test_features_place_their_routers_in_one_order(tmp_path: Path) -> None:
    """Each feature includes its own routers at its order; the fallback is last whatever
    the install order, so a third-party feature's router is reached before it."""
    config = WarmlineConfig.model_validate(
        {"storage": {"database_url": f"sqlite+aiosqlite:///{tmp_path}/w.db"}}
    )
    app = App(config)
    try:
        assert [r.name for r in app.dispatcher.routers] == [
            "moderation.captcha",
            "moderation.commands",
            "modlog",
            "start",
            "help",
            "member",
            "admin",
            "admin_lists",
            "journey",
            "push",
            "segments",
            "qa",
            "kb-learning",
            "insight",
            "fallback",
        ]
    finally:
        await app.database.close()


async def test_features_place_their_middlewares_by_order(tmp_path: Path) -> None:
    """Each middleware sits at its declared order (no feature searches the chain): the
    buttons are verified before the member loads, the guard right after, and the
    watchers inside the core's, in install order."""
    from bot import middlewares as core

    config = WarmlineConfig.model_validate(
        {"storage": {"database_url": f"sqlite+aiosqlite:///{tmp_path}/w.db"}}
    )
    app = App(config)
    try:
        placed = [
            (order, getattr(mw, "__qualname__", type(mw).__qualname__))
            for order, mw in app.dispatcher.middleware_orders
        ]
        assert placed == [
            (core.ERROR_ISOLATION, "ErrorIsolation"),
            (core.LOGGING, "Logging"),
            (core.DEDUPE, "Dedupe"),
            (core.MEMBER_LOADER - 5, "VerifyButtons"),
            (core.MEMBER_LOADER, "MemberLoader"),
            (core.MEMBER_LOADER + 5, "GroupGuard"),
            (core.OPEN_WINDOWS, "OpenWindows"),
            (core.WATCHERS, "SignalCounter"),
            (core.WATCHERS, "Metrics.middleware"),
            (core.WATCHERS, "ActivityTracker.middleware"),
        ]

        async def members_seen(call_next: Next, ctx: Context) -> None:
            await call_next(ctx)

        # added last, placed between the member loader and the guard
        app.add_middleware(members_seen, order=core.MEMBER_LOADER + 1)
        assert app.dispatcher.middlewares.index(members_seen) == 5
    finally:
        await app.database.close()


def warmline(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """``warmline ARGV`` as the console script runs it (``bot.cli.main``)."""
    from bot.cli import main

    monkeypatch.setattr("sys.argv", ["warmline", *argv])
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out + captured.err


def test_the_config_argument_is_found_before_the_command_runs() -> None:
    from bot.cli.selection import config_argument

    assert config_argument(["kb", "build", "-c", "a.yaml"]) == "a.yaml"
    assert config_argument(["run", "--config", "b.yaml"]) == "b.yaml"
    assert config_argument(["run", "--config=c.yaml"]) == "c.yaml"
    assert config_argument(["run", "-cd.yaml"]) == "d.yaml"
    assert config_argument(["broadcast", "--", "-c", "e.yaml"]) is None
    assert config_argument(["-h"]) is None


def test_warmline_offers_the_commands_of_the_loaded_features(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    # no config file: every installed feature's commands
    code, output = warmline(["-h"], monkeypatch, capsys)
    assert code == 0
    assert {"kb", "flows", "report", "broadcast", "simulate", "db", "wecom"} <= set(output.split())
    # the config file the commands find: here config.yaml
    (tmp_path / "config.yaml").write_text("features: [callbacks, push]\n", "utf-8")
    code, output = warmline(["-h"], monkeypatch, capsys)
    assert code == 0
    words = set(output.split())
    assert {"push", "broadcast", "run", "chat", "db", "config", "wecom"} <= words
    assert not {"kb", "flows", "report", "dashboard", "simulate", "insight"} & words
    code, output = warmline(["kb", "-h"], monkeypatch, capsys)
    assert code == 2 and "No such command 'kb'" in output
    # or the one a command is given
    (tmp_path / "shop.yaml").write_text("features: [callbacks, knowledge]\n", "utf-8")
    code, output = warmline(["kb", "ingest", "-h", "-c", "shop.yaml"], monkeypatch, capsys)
    assert code == 0 and "Build or refresh the index" in output
    code, output = warmline(["push", "pause", "-c", "shop.yaml"], monkeypatch, capsys)
    assert code == 2 and "No such command 'push'" in output
    # a file that cannot be read offers everything; the command says what is wrong
    (tmp_path / "config.yaml").write_text("features: [callbacks\n", "utf-8")
    code, output = warmline(["-h"], monkeypatch, capsys)
    assert code == 0 and {"kb", "push", "flows"} <= set(output.split())
    code, output = warmline(["config", "check"], monkeypatch, capsys)
    assert code == 2 and "not valid YAML" in output


def test_a_third_party_features_command_follows_features_too(
    shop_hours: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(shop_hours)
    (shop_hours / "config.yaml").write_text("features: [shop_hours]\n", "utf-8")
    code, output = warmline(["hours"], monkeypatch, capsys)
    assert code == 0 and "Monday to Friday" in output
    (shop_hours / "config.yaml").write_text("features: [callbacks]\n", "utf-8")
    code, output = warmline(["hours"], monkeypatch, capsys)
    assert code == 2 and "No such command 'hours'" in output
