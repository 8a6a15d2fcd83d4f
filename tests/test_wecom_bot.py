"""The playbook on WeCom: the App as ``warmline run`` builds it, talking to the fake
WeCom server — a contact-way add greeted and attributed, a kf question answered
from the FAQ, and an admin's broadcast typed to the app becoming one mass-send
task whose outcomes are recorded (the platform's cap never counted as sent)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fake_wecom_api import FakeWeCom, wait_until
from fault_support import free_port
from knowledge_support import example_section
from sqlalchemy import select
from wecom_support import wecom_section

from bot.app import App
from bot.config.model import WarmlineConfig
from knowledge.service import KnowledgeBase
from push.campaigns import Campaigns
from push.store import CampaignStore
from storage.push_tables import PushCampaign

pytest_plugins = ("knowledge_support",)


def wecom_settings(fake: FakeWeCom, db_url: str, port: int, index_dir: Path) -> WarmlineConfig:
    return WarmlineConfig.model_validate(
        {
            "bot": {
                "platform": "wecom",
                "admins": ["zhang"],
                "default_language": "zh",
                "wecom": wecom_section(fake, kf_pull_interval="1s", sync_tags=True),
            },
            "http": {"listen": f"127.0.0.1:{port}"},
            "storage": {"database_url": db_url},
            "knowledge": example_section(index_dir),
            "push": {
                "quiet_hours": None,
                "campaigns": {"mass_poll": "1s"},
                "pacing": {"per_second": 200, "per_chat_per_second": 100},
            },
        }
    )


@asynccontextmanager
async def wecom_bot(tmp_path: Path, index_dir: Path) -> AsyncIterator[tuple[App, FakeWeCom]]:
    fake = FakeWeCom()
    await fake.start()
    port = free_port()
    config = wecom_settings(fake, f"sqlite+aiosqlite:///{tmp_path / 'w.db'}", port, index_dir)
    app = App(config)
    await app.start()
    fake.callback_url = f"http://127.0.0.1:{port}/wecom/callback"
    try:
        yield app, fake
    finally:
        await app.stop()
        await fake.stop()


async def test_add_welcome_question_and_broadcast(
    tmp_path: Path, example_index_dir: Path, example_kb: KnowledgeBase
) -> None:
    async with wecom_bot(tmp_path, example_index_dir) as (app, fake):
        fake.contact_ways["cfg1"] = {"state": "src-xiaohongshu", "user": ["zhang"]}
        await fake.add_customer("wmAlice", config_id="cfg1")
        await wait_until(lambda: fake.welcomes, timeout=10)
        [welcome] = fake.welcomes
        assert welcome["text"]["content"]
        alice = await app.services.members.get("wecom", "wmAlice")
        assert alice is not None and alice.source == "xiaohongshu"

        await fake.customer_says("wmAlice", "满多少包邮")
        await wait_until(lambda: fake.kf_sent, timeout=15)
        answer = fake.kf_sent[0]
        content = (
            answer["text"]["content"] if "text" in answer else answer["msgmenu"]["head_content"]
        )
        assert "199" in content and "faq.yaml#free-shipping" in str(answer)

        # a tag an admin sets is mirrored to a WeCom corp tag, marked by the follow-user
        await fake.staff_says("zhang", "/tag wmAlice vip")
        await wait_until(lambda: fake.marks.get(("zhang", "wmAlice")), timeout=10)
        assert fake.marks[("zhang", "wmAlice")] == {fake.tag_groups["Warmline"]["vip"]}
        await fake.staff_says("zhang", "/untag wmAlice vip")
        await wait_until(lambda: not fake.marks[("zhang", "wmAlice")], timeout=10)

        fake.contact_ways["cfg2"] = {"state": "src-card", "user": ["zhang"]}
        await fake.add_customer("wmBob", config_id="cfg2")
        fake.mass_received["wmBob"].append(fake.now() - 60)  # had today's mass message
        await wait_until(lambda: len(fake.welcomes) == 2, timeout=10)

        await fake.staff_says("zhang", "/broadcast all 新茶到了，欢迎品尝")
        await wait_until(lambda: _previews(fake), timeout=10)
        preview = _previews(fake)[-1]
        code = preview.rsplit("/confirm ", 1)[1].split()[0].rstrip("。.")
        await fake.staff_says("li", f"/confirm {code}")  # not an admin: refused
        await fake.staff_says("zhang", f"/confirm {code}")
        await wait_until(lambda: fake.mass_tasks, timeout=10)
        [task] = fake.mass_tasks.values()
        assert task.sender == "zhang" and sorted(task.customers) == ["wmAlice", "wmBob"]
        assert task.text == "新茶到了，欢迎品尝"
        fake.confirm_mass(task.msgid)
        store = app.services.require(Campaigns).store
        async with app.database.session() as session:
            [campaign_id] = (await session.execute(select(PushCampaign.id))).scalars()

        tally = await _settled(store, campaign_id)
        assert tally == {("sent", "mass"): 1, ("dropped", "platform_cap"): 1}
        refusals = [m["text"]["content"] for m in fake.staff_messages if m["touser"] == "li"]
        assert refusals  # the other staff member was told no
        await fake.staff_says("zhang", f"/confirm {code}")  # used already: no second task
        assert len(fake.mass_tasks) == 1

        # a second broadcast the same day: Alice got today's mass message, so the
        # platform's cap keeps her out (not even attempted); Bob is within the gate's
        # minimum gap since the first: nobody is left for a task
        await fake.staff_says("zhang", "/broadcast all 第二条")
        await wait_until(lambda: len(_previews(fake)) == 2, timeout=10)
        code = _previews(fake)[-1].rsplit("/confirm ", 1)[1].split()[0].rstrip("。.")
        await fake.staff_says("zhang", f"/confirm {code}")
        async with app.database.session() as session:
            ids = set((await session.execute(select(PushCampaign.id))).scalars())
        [second] = ids - {campaign_id}
        tally = await _settled(store, second, done=True)
        assert tally == {("dropped", "platform_cap"): 1, ("dropped", "min_gap"): 1}
        assert len(fake.mass_tasks) == 1
        for member, got in fake.mass_received.items():
            day = [t for t in got if fake.now() - t < 86400]
            assert len(day) <= 1, member


def _previews(fake: FakeWeCom) -> list[str]:
    return [m["text"]["content"] for m in fake.staff_messages if "/confirm " in str(m)]


async def _settled(
    store: CampaignStore, campaign_id: str, done: bool = False
) -> Counter[tuple[str, str | None]]:
    """The campaign's tally once nothing is pending or waiting for staff any more."""
    for _ in range(300):
        tally = await store.tally(campaign_id)
        if tally and not any(state in ("pending", "waiting") for state, _ in tally):
            return tally
        await asyncio.sleep(0.1)
    raise AssertionError(f"campaign {campaign_id} did not settle: {tally}")
