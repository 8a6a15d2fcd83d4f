"""WeCom through separate processes: a real ``warmline run`` worker and the fake
WeCom server. A contact-way add is welcomed and attributed, a kf question is
answered citing the FAQ, a wrong signature is refused, a redelivered callback is
handled once, an admin's ``/broadcast all`` typed to the app becomes one mass-send
task with its outcomes recorded, and nobody gets a kf message outside the window
or a second mass message in a day."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fake_wecom_api import (
    AGENT_ID,
    KF_WINDOW,
    KF_WINDOW_MESSAGES,
    OPEN_KFID,
    SECRET,
    FakeWeCom,
    wait_until,
)
from fault_support import Worker, free_port
from knowledge_support import example_section
from wecom_envelope import AES_KEY, CORP_ID, TOKEN
from wecom_support import rows, write_worker_config

from knowledge.service import KnowledgeBase

CODE = re.compile(r"/confirm ([A-Z2-9]{6})")


def write_config(path: Path, fake: FakeWeCom, port: int, db: Path, index_dir: Path) -> Path:
    wecom = {  # the secret and the AES key come from the environment
        "corp_id": CORP_ID,
        "agent_id": AGENT_ID,
        "token": TOKEN,
        "open_kfid": OPEN_KFID,
        "api_base": fake.base_url,
        "kf_pull_interval": "2s",
    }
    return write_worker_config(
        path,
        port,
        db,
        wecom,
        knowledge=example_section(index_dir),
        push={"quiet_hours": None, "campaigns": {"mass_poll": "1s"}},
    )


async def test_the_playbook_through_a_real_worker(
    tmp_path: Path,
    fake: FakeWeCom,
    example_index_dir: Path,
    example_kb: KnowledgeBase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WECOM_CORP_SECRET", SECRET)  # secrets from the environment
    monkeypatch.setenv("WECOM_ENCODING_AES_KEY", AES_KEY)
    port, db = free_port(), tmp_path / "wecom.db"
    config = write_config(tmp_path / "config.yaml", fake, port, db, example_index_dir)
    worker = Worker(config, tmp_path / "worker.log")
    await worker.start()
    fake.callback_url = f"http://127.0.0.1:{port}/wecom/callback"
    try:
        # acquisition: a contact way with state src-xiaohongshu, greeted by welcome code
        fake.contact_ways["cfg1"] = {"state": "src-xiaohongshu", "user": ["zhang"]}
        await fake.add_customer("wmAlice", config_id="cfg1")
        await wait_until(lambda: fake.welcomes, timeout=20)
        await wait_until(
            lambda: (
                rows(db, "select source from members where user_id='wmAlice'") == [("xiaohongshu",)]
            ),
            timeout=10,
        )

        # a kf question, answered citing the FAQ
        await fake.customer_says("wmAlice", "满多少包邮")
        await wait_until(lambda: fake.kf_sent, timeout=30)
        assert "199" in str(fake.kf_sent[0]) and "faq.yaml#free-shipping" in str(fake.kf_sent[0])

        # a wrong signature is refused and nothing is processed
        before = len(fake.staff_messages)
        status = await fake.deliver(
            {"MsgType": "text", "Content": "/stats", "MsgId": "x1", "FromUserName": "zhang"},
            token="forged",
        )
        assert status == 403

        # WeCom redelivers the same callback (the first answer was late): handled once
        stats = {"MsgType": "text", "Content": "/help", "MsgId": "m-dup", "FromUserName": "zhang"}
        await fake.deliver(stats)
        await fake.deliver(stats)
        await wait_until(lambda: len(fake.staff_messages) > before, timeout=10)
        await _quiet(fake)
        assert len(fake.staff_messages) == before + 1

        # an admin's broadcast typed to the app: one mass-send task, outcomes recorded
        fake.contact_ways["cfg2"] = {"state": "src-card", "user": ["zhang"]}
        await fake.add_customer("wmBob", config_id="cfg2")
        fake.mass_received["wmBob"].append(fake.now() - 60)  # had today's mass message
        await wait_until(lambda: len(fake.welcomes) == 2, timeout=20)
        await fake.staff_says("zhang", "/broadcast all 新茶到了")
        await wait_until(lambda: _code(fake), timeout=20)
        await fake.staff_says("zhang", f"/confirm {_code(fake)}")
        await wait_until(lambda: fake.mass_tasks, timeout=20)
        [task] = fake.mass_tasks.values()
        assert sorted(task.customers) == ["wmAlice", "wmBob"]
        fake.confirm_mass(task.msgid)
        await wait_until(
            lambda: (
                sorted(rows(db, "select state, reason from push_outbox"))
                == [("dropped", "platform_cap"), ("sent", "mass")]
            ),
            timeout=30,
        )
    finally:
        await worker.stop()

    # the platform's rules, as the fake counted them
    for customer, got in fake.mass_received.items():
        assert len([t for t in got if fake.now() - t < 86400]) <= 1, customer
    assert all(c.errcode != 95018 for c in fake.calls if c.path == "kf/send_msg")
    per_customer: dict[str, int] = {}
    for sent in fake.kf_sent:
        per_customer[sent["touser"]] = per_customer.get(sent["touser"], 0) + 1
    assert all(n <= KF_WINDOW_MESSAGES for n in per_customer.values())
    assert KF_WINDOW == 48 * 3600


def _code(fake: FakeWeCom) -> str:
    """The code of the latest broadcast preview (``/help`` also names /confirm)."""
    for message in reversed(fake.staff_messages):
        found = CODE.search(message["text"]["content"])
        if found:
            return found.group(1)
    return ""


async def _quiet(fake: FakeWeCom, seconds: float = 2.0) -> None:
    """Let a second (duplicate) reply arrive if the bot were to make one."""
    import asyncio

    await asyncio.sleep(seconds)
