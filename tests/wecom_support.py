"""What WeCom tests share: the ``bot.wecom`` section that talks to the fake WeCom
server, the server itself as a fixture, a worker's config file, and a look into the
worker's SQLite file."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_wecom_api import AGENT_ID, OPEN_KFID, SECRET, FakeWeCom
from wecom_envelope import AES_KEY, CORP_ID, TOKEN


def wecom_section(fake: FakeWeCom, **extra: Any) -> dict[str, Any]:
    """Credentials the fake accepts, its URL as ``api_base``, plus ``extra`` keys."""
    return {
        "corp_id": CORP_ID,
        "secret": SECRET,
        "agent_id": AGENT_ID,
        "token": TOKEN,
        "encoding_aes_key": AES_KEY,
        "open_kfid": OPEN_KFID,
        "api_base": fake.base_url,
        **extra,
    }


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    """The fake WeCom server, running for the test (``pytest_plugins = ("wecom_support",)``)."""
    server = FakeWeCom()
    await server.start()
    yield server
    await server.stop()


def write_worker_config(
    path: Path, port: int, db: Path, wecom: dict[str, Any], **sections: Any
) -> Path:
    """A ``warmline run`` config on WeCom: staff member ``zhang`` is the admin, the bot
    speaks Chinese, listens on ``port`` and keeps ``db``; ``sections`` are added as given."""
    data = {
        "bot": {"platform": "wecom", "admins": ["zhang"], "default_language": "zh", "wecom": wecom},
        "http": {"listen": f"127.0.0.1:{port}"},
        "storage": {"database_url": f"sqlite+aiosqlite:///{db}"},
        **sections,
    }
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    """Query a worker's SQLite database while it runs (read-only use)."""
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()
