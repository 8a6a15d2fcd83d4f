"""The README's examples run as written.

A fenced block whose info string has ``file=PATH`` is written to PATH (in a fresh
folder); one with ``run=NAME`` is executed there and must leave an ``app`` behind, which
the tests start and talk to like a member. The README's custom flow with its own texts,
its custom step and its custom feature are all covered, and so is ``warmline run``'s way
to the same step (``flows.steps``), through ``config check`` and ``flows actions``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.app import App
from bot.cli import app as cli
from bot.events import OutgoingMessage, UserRef
from flows.engine import FlowEngine
from flows.steps import StepRegistry

REPO = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"^```(\w+) (file|run)=(\S+)\n(.*?)^```$", re.S | re.M)


def blocks(kind: str) -> dict[str, str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return {name: body for _, k, name, body in BLOCK.findall(text) if k == kind}


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, body in blocks("file").items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for variable in ("WARMLINE_DATABASE_URL", "WARMLINE_REDIS_URL", "WARMLINE_LISTEN"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


def example(name: str) -> tuple[App, dict[str, Any]]:
    namespace: dict[str, Any] = {"__name__": f"readme_{name.replace('-', '_')}"}
    exec(compile(blocks("run")[name], f"README.md ({name})", "exec"), namespace)
    return namespace["app"], namespace


@pytest.fixture
async def started() -> AsyncIterator[list[App]]:
    apps: list[App] = []
    yield apps
    for app in apps:
        await app.stop()


async def say(app: App, user: UserRef, text: str) -> list[OutgoingMessage]:
    adapter: Any = app.adapter  # the local adapter: the shop's config names no platform
    before = len(adapter.log)
    await adapter.deliver(adapter.message(user, adapter.dm(user), text))
    await app.runner.wait_idle()
    return [a.message for a in adapter.log[before:] if a.kind == "send" and a.message]


def midday_zone() -> str:
    """A time zone where it is about noon now, outside any quiet hours."""
    offset = 12 - datetime.now(UTC).hour
    return f"Etc/GMT{'+' if offset < 0 else '-'}{abs(offset)}" if offset else "Etc/GMT"


def test_the_examples_are_there() -> None:
    assert set(blocks("run")) == {"custom-step", "custom-feature"}
    assert {"shop/config.yaml", "shop/shop_steps.py", "shop/flows/sample.yaml"} <= set(
        blocks("file")
    )
    assert {"shop/flows/locales/en/shop.yaml", "shop/flows/locales/zh/shop.yaml"} <= set(
        blocks("file")
    )


async def test_the_custom_step_sends_the_flows_own_text_in_each_language(
    shop: Path, started: list[App]
) -> None:
    app, namespace = example("custom-step")
    registry = app.services.require(StepRegistry)
    assert registry is namespace["steps"], "the app uses the registry it was given"
    assert {"sample_offer", "message", "offer"} <= set(registry.actions())
    assert "big_order" in registry.guards()
    started.append(app)
    await app.start()
    engine = app.services.require(FlowEngine)
    sent = {}
    for name, lang in (("Mei", "zh"), ("Tom", "en")):
        user = UserRef("local", name.lower(), name, language_code=lang)
        await say(app, user, "/start")
        member = await app.services.members.get("local", user.id)
        assert member is not None
        member = await app.services.members.update(member.id, time_zone=midday_zone())
        adapter: Any = app.adapter
        before = len(adapter.log)
        await engine.place_order(member, "oolong", 39.9, app.services.clock.now(), "test")
        sent[lang] = [a.message.text for a in adapter.log[before:] if a.message is not None]
    assert "感谢订购武夷岩茶！随包裹附赠一份新白茶小样。" in sent["zh"], sent
    assert (
        "Thank you for ordering Wuyi oolong! A free sample of our new white tea travels with it."
        in sent["en"]
    ), sent


def test_warmline_run_finds_the_step_through_the_config(shop: Path) -> None:
    runner = CliRunner()
    check = runner.invoke(cli, ["config", "check", "-c", "shop/config.yaml"])
    assert check.exit_code == 0, check.output
    listed = runner.invoke(cli, ["flows", "actions", "-c", "shop/config.yaml"])
    assert listed.exit_code == 0, listed.output
    assert "- `sample_offer`: Tell a buyer that a free sample travels with the order." in (
        listed.output
    )


async def test_the_custom_feature_answers_its_command(shop: Path, started: list[App]) -> None:
    app, _ = example("custom-feature")
    started.append(app)
    await app.start()
    user = UserRef("local", "ann", "Ann", language_code="en")
    replies = await say(app, user, "/hours")
    assert [m.text for m in replies] == [
        "We pack and ship Monday to Friday, 9:00-18:00 (Beijing time)."
    ]
    other = await say(app, user, "/nonsense")  # the fallback still answers the rest
    assert other and "9:00-18:00" not in other[0].text
