"""The signed orders webhook, the content library, `flows show`, and the simulator."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest
from flows_support import journey_config
from harness import local_bot
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.errors import ConfigError
from flows.content import ContentLibrary
from flows.webhook import SIGNATURE_HEADER, sign
from knowledge.config import knowledge_config
from simulate.cli import simulation_config
from simulate.history import run_and_measure
from simulate.report import write_report
from simulate.world import World
from storage.flow_tables import Order

SECRET = "shop-secret-for-tests"

#: fixtures: journey_url (a copy of a database migrated once per session)
pytest_plugins = ("flows_fixtures",)


async def _count_orders(bot: object) -> int:
    from sqlalchemy import func, select

    database = bot.app.database  # type: ignore[attr-defined]
    async with database.session() as session:
        return int((await session.execute(select(func.count(Order.id)))).scalar_one())


async def test_orders_webhook_checks_the_signature_and_the_payload(journey_url: str) -> None:
    config = journey_config(journey_url, orders={"webhook_secret": SECRET})
    config.http.listen = "127.0.0.1:0"
    async with local_bot(config) as bot:
        await bot.say(bot.user("Alice"), "/start")
        url = f"http://127.0.0.1:{bot.app.web.port}/hooks/orders"
        body = json.dumps(
            {"order_id": "A-1", "user_id": "alice", "sku": "green", "amount": 39.9}
        ).encode()
        async with aiohttp.ClientSession() as http:
            async with http.post(url, data=body) as unsigned:
                assert unsigned.status == 401
            async with http.post(url, data=body, headers={SIGNATURE_HEADER: "0" * 64}) as forged:
                assert forged.status == 401
            tampered = body.replace(b"39.9", b"0.01")
            async with http.post(
                url, data=tampered, headers={SIGNATURE_HEADER: sign(SECRET, body)}
            ) as replayed:
                assert replayed.status == 401
            assert await _count_orders(bot) == 0
            good = {SIGNATURE_HEADER: "sha256=" + sign(SECRET, body)}
            async with http.post(url, data=body, headers=good) as stored:
                assert stored.status == 201 and (await stored.json())["status"] == "stored"
            async with http.post(url, data=body, headers=good) as again:
                assert again.status == 200 and (await again.json())["status"] == "duplicate"
            bad = json.dumps({"order_id": "A-2", "user_id": "alice", "sku": "g", "amount": "x"})
            headers = {SIGNATURE_HEADER: sign(SECRET, bad.encode())}
            async with http.post(url, data=bad, headers=headers) as invalid:
                assert invalid.status == 400 and (await invalid.json())["field"] == "amount"
            nobody = json.dumps({"order_id": "A-3", "user_id": "ghost", "sku": "g", "amount": 5})
            headers = {SIGNATURE_HEADER: sign(SECRET, nobody.encode())}
            async with http.post(url, data=nobody, headers=headers) as unknown:
                assert unknown.status == 404
        assert await _count_orders(bot) == 1
        assert any("Thank you for your order" in m.text for m in bot.adapter.sent_to("alice"))


def test_content_library_prefers_unseen_items_matching_tags(tmp_path: Path) -> None:
    (tmp_path / "items.yaml").write_text(
        "items:\n"
        "  - {id: a, tags: [green], text: {en: 'Green tip', zh: '绿茶'}}\n"
        "  - {id: b, tags: [black], text: {en: 'Black tip'}}\n"
        "  - {id: c, tags: [green], text: {en: 'Another green tip'}}\n",
        encoding="utf-8",
    )
    library = ContentLibrary.load([tmp_path])
    assert library.choose([], ["black"]).id == "b"  # type: ignore[union-attr]
    assert library.choose(["a"], ["green"]).id == "c"  # type: ignore[union-attr]
    assert library.choose(["a", "c"], ["green"]).id == "b"  # type: ignore[union-attr]
    assert library.choose(["a", "b", "c"]) is None
    assert library.get("a").text("zh") == "绿茶"  # type: ignore[union-attr]


def test_value_content_with_a_price_is_refused(tmp_path: Path) -> None:
    (tmp_path / "sale.md").write_text("---\nid: sale\ntags: [x]\n---\nOnly $9 today!\n")
    with pytest.raises(ConfigError, match="must not mention prices"):
        ContentLibrary.load([tmp_path])


def test_flows_show_prints_a_mermaid_diagram_per_flow() -> None:
    result = CliRunner().invoke(cli, ["flows", "show", "-c", "config.example.yaml"])
    assert result.exit_code == 0, result.output
    for name in ("greeting", "group_welcome", "value_content", "soft_offer", "after_sales"):
        assert f"## {name} " in result.output
    assert result.output.count("flowchart TD") >= 6
    assert 'check -->|"satisfied"| invite' in result.output


EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "config.example.yaml"


async def test_simulation_is_reproducible_and_keeps_the_invariants(tmp_path: Path) -> None:
    from bot.config import load_config

    example = load_config(EXAMPLE_CONFIG)
    # the playbook needs no knowledge base; keep the test independent of shared/
    base = example.model_copy(deep=True)
    knowledge_config(base).enabled = False
    results = []
    for run in range(2):
        url = f"sqlite+aiosqlite:///{tmp_path / f'sim{run}.db'}"
        world = World(simulation_config(base, url, "memory"), members=30, days=10, seed=7)
        results.append(await run_and_measure(world))
    first, second = results
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    for invariant in ("offers_before_eligible", "cap_breaches", "quiet_hour_sends"):
        assert first[invariant] == 0
    assert first["sends_after_optout"] == 0
    assert first["messages_proactive"] > 0 and first["funnel"]["joined"] >= 30
    report = tmp_path / "report.html"
    write_report(first, report)
    page = report.read_text(encoding="utf-8")
    assert "Member funnel" in page and "days" in page and "cap" in page
    assert "<script src=" not in page and "<link" not in page  # self-contained
    assert len(page) > 1_000_000  # plotly.js is inlined
