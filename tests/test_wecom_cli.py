"""``warmline wecom contact-way`` against the fake WeCom server, as a user runs it."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import yaml
from fake_wecom_api import FakeWeCom
from wecom_support import wecom_section

REPO = Path(__file__).resolve().parent.parent


async def _run(config: Path, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "wecom",
        "contact-way",
        "-c",
        str(config),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


async def test_a_contact_way_per_channel(tmp_path: Path) -> None:
    fake = FakeWeCom()
    await fake.start()
    config = tmp_path / "config.yaml"
    wecom = wecom_section(fake)
    config.write_text(
        yaml.safe_dump(
            {
                "bot": {"platform": "wecom", "wecom": wecom},
                "storage": {"database_url": f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"},
                "knowledge": {"enabled": False},
            }
        )
    )
    try:
        code, out = await _run(config, "--source", "xiaohongshu", "--staff", "zhang")
        assert code == 0, out
        [(config_id, way)] = fake.contact_ways.items()
        assert way == {"state": "src-xiaohongshu", "user": ["zhang"]}
        assert config_id in out and "https://" in out
        code, out = await _run(config, "--source", "a channel")
        assert code == 2 and "letters, digits" in out
        code, out = await _run(config, "--source", "card")  # no --staff, no sender
        assert code == 2 and "--staff" in out
        assert len(fake.contact_ways) == 1
    finally:
        await fake.stop()
