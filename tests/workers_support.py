"""Several ``warmline run`` processes in webhook mode on loopback, sharing one
PostgreSQL database and one Redis, talking to the fake Bot API of the test.

    async with Workers(tmp_path, api, count=3, push={...}) as workers:
        await workers.post(0, update)          # a webhook delivery to worker 0
        workers.kill(0)                        # SIGKILL
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from fake_bot_api import TOKEN, FakeBotAPI, Json
from services import PG_URL, REDIS_URL
from sqlalchemy import insert, select, text

from storage.database import Database
from storage.push_tables import PushCampaign
from storage.tables import Member

REPO = Path(__file__).resolve().parent.parent
SECRET = "worker-webhook-secret"
ADMIN = 900_001
#: platform user ids of seeded members start here
FIRST_MEMBER = 500_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def worker_config(api: FakeBotAPI, **sections: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "bot": {
            "platform": "telegram",
            "admins": [str(ADMIN)],
            "callback_secret": "shared-by-every-worker-0123456789abcdef",
            "telegram": {
                "token": TOKEN,
                "api_base": api.url,
                "mode": "webhook",
                # every worker reads this file; WARMLINE_LISTEN gives each its port
                "webhook": {"listen": "127.0.0.1:1", "secret_token": SECRET},
            },
        },
        "storage": {"database_url": PG_URL, "redis_url": REDIS_URL},
        "logging": {"level": "INFO"},
    }
    for key, value in sections.items():
        _merge(data.setdefault(key, {}), value)
    return data


def _merge(into: dict[str, Any], more: dict[str, Any]) -> None:
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


async def seed_members(count: int) -> list[int]:
    """Members who started the bot, written straight to the shared database."""
    db = Database(PG_URL)
    now = datetime.now(UTC)
    rows = [
        {
            "platform": "telegram",
            "user_id": str(FIRST_MEMBER + n),
            "display_name": f"m{n}",
            "joined_at": now,
            "last_seen_at": now,
            "started_bot": True,
            "opted_out": False,
            "reachable": True,
        }
        for n in range(count)
    ]
    try:
        async with db.transaction() as conn:
            await conn.execute(insert(Member), rows)
    finally:
        await db.close()
    return [FIRST_MEMBER + n for n in range(count)]


async def campaign_statuses() -> dict[str, str]:
    db = Database(PG_URL)
    try:
        async with db.reading() as conn:
            rows = await conn.execute(select(PushCampaign.id, PushCampaign.status))
            return {str(i): str(s) for i, s in rows}
    finally:
        await db.close()


async def outbox_members(campaign_id: str) -> dict[str, list[int]]:
    """Outbox state → the platform user ids of the members in it."""
    db = Database(PG_URL)
    try:
        async with db.reading() as conn:
            rows = await conn.execute(
                text(
                    "SELECT o.state, m.user_id FROM push_outbox o "
                    "JOIN members m ON m.id = o.member_id WHERE o.campaign_id = :c"
                ),
                {"c": campaign_id},
            )
            out: dict[str, list[int]] = {}
            for state, user_id in rows:
                out.setdefault(str(state), []).append(int(user_id))
            return out
    finally:
        await db.close()


class Workers:
    def __init__(self, root: Path, api: FakeBotAPI, count: int, **sections: Any) -> None:
        self.root = root
        self.api = api
        self.config = root / "config.yaml"
        self.config.write_text(yaml.safe_dump(worker_config(api, **sections)), encoding="utf-8")
        self.ports = [free_port() for _ in range(count)]
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * count
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Workers:
        self._upgrade()
        self._session = aiohttp.ClientSession()
        try:
            await asyncio.gather(*(self.start(n) for n in range(len(self.ports))))
        except BaseException:
            await self.__aexit__()
            raise
        return self

    def _upgrade(self) -> None:
        """Once per deployment, before the workers start (README "Running several workers")."""
        upgrade = subprocess.run(
            [sys.executable, "-m", "bot", "db", "upgrade", "-c", str(self.config)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            timeout=240,
        )
        assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr

    async def __aexit__(self, *_exc: object) -> None:
        running = [p for p in self.processes if p is not None and p.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        # the fake API lives on this event loop: wait without blocking it, since a
        # stopping worker may still be talking to it
        for _ in range(300):
            if all(p.poll() is not None for p in running):
                break
            await asyncio.sleep(0.1)
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGABRT)  # faulthandler writes where it hung
                process.wait()
        if self._session is not None:
            await self._session.close()
        hung = [n for n, p in enumerate(self.processes) if p is not None and p.returncode == -6]
        assert not hung, f"workers {hung} did not stop on SIGTERM:\n{self.log(hung[0])[-4000:]}"

    def log(self, n: int) -> str:
        path = self.root / f"worker{n}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def start(self, n: int) -> None:
        """Start worker ``n`` (again) and wait until it serves ``/readyz``."""
        self._spawn(n)
        # generous: on a loaded 2-core machine three interpreters importing at once are slow
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            process = self.processes[n]
            assert process is not None
            if process.poll() is not None:
                raise AssertionError(f"worker {n} exited:\n{self.log(n)[-3000:]}")
            try:
                status, _ = await self.get(n, "/readyz")
                if status == 200:
                    return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        raise AssertionError(f"worker {n} not ready in 240 s:\n{self.log(n)[-3000:]}")

    def _spawn(self, n: int) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "PYTHONFAULTHANDLER": "1",
            "WARMLINE_LISTEN": f"127.0.0.1:{self.ports[n]}",
        }
        with (self.root / f"worker{n}.log").open("ab") as log:
            self.processes[n] = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "-c", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def kill(self, n: int) -> None:
        process = self.processes[n]
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait()

    async def get(self, n: int, path: str) -> tuple[int, str]:
        assert self._session is not None
        url = f"http://127.0.0.1:{self.ports[n]}{path}"
        async with self._session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as response:
            return response.status, await response.text()

    async def post(self, n: int, update: Json, timeout: float = 10.0) -> int:
        """Deliver ``update`` to worker ``n`` as Telegram would; the HTTP status."""
        assert self._session is not None
        async with self._session.post(
            f"http://127.0.0.1:{self.ports[n]}/telegram/webhook",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            return response.status

    def received(self, text: str) -> dict[int, int]:
        """Member chat id → how many messages containing ``text`` the API accepted."""
        got: dict[int, int] = {}
        for call in self.api.calls_to("sendMessage"):
            if text in str(call.params.get("text", "")):
                chat = int(call.params["chat_id"])
                if chat != ADMIN:
                    got[chat] = got.get(chat, 0) + 1
        return got

    def send_times(self, *texts: str) -> list[float]:
        return sorted(
            c.at
            for c in self.api.calls_to("sendMessage")
            if int(c.params["chat_id"]) != ADMIN
            and any(t in str(c.params.get("text", "")) for t in texts)
        )


def peak_per_second(times: list[float], window: float = 1.0) -> int:
    """Most sends inside any sliding window of ``window`` seconds."""
    peak, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= window:
            start += 1
        peak = max(peak, end - start + 1)
    return peak
