"""Real `warmline run` workers and stores that fault tests start, break and stop.

Each worker is a separate process (``python -m bot run -c FILE``) talking to the
fake Bot API on 127.0.0.1; Redis and PostgreSQL servers are the test's own, on
free ports in a temporary directory, never the machine's shared ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from fake_bot_api import TOKEN, FakeBotAPI, Json

REPO = Path(__file__).resolve().parent.parent
SECRET = "fault-test-secret"
HOOK_PATH = "/tg/hook"
#: updates a worker handles at once
CONCURRENCY = 16


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def worker_config(
    path: Path,
    api: FakeBotAPI,
    library: str,
    database_url: str,
    *,
    mode: str = "polling",
    port: int | None = None,
    redis_url: str | None = None,
    **sections: Any,
) -> Path:
    telegram: dict[str, Any] = {
        "token": TOKEN,
        "library": library,
        "api_base": api.url,
        "mode": mode,
        "poll_timeout": "2s",
        "max_retries": 2,
        "webhook": {
            "listen": f"127.0.0.1:{port or free_port()}",
            "path": HOOK_PATH,
            "secret_token": SECRET,
        },
    }
    data: dict[str, Any] = {
        "bot": {
            "platform": "telegram",
            "admins": ["1"],
            "telegram": telegram,
            "max_concurrent_updates": CONCURRENCY,
        },
        "storage": {"database_url": database_url, "inbox_lease": "2s"},
    }
    if redis_url:
        data["storage"]["redis_url"] = redis_url
    for key, value in sections.items():
        data.setdefault(key, {}).update(value)
    path.write_text(yaml.safe_dump(data))
    return path


class Worker:
    """One `warmline run` process; its log goes to a file the test can show."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self, timeout: float = 240.0) -> None:
        handle = self.log.open("ab")
        self.process = await asyncio.to_thread(
            subprocess.Popen,
            [sys.executable, "-m", "bot", "run", "-c", str(self.config)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        handle.close()
        deadline = time.monotonic() + timeout
        while "Warmline started" not in self.text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker did not start:\n{self.text()[-4000:]}")
            await asyncio.sleep(0.1)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    async def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        for _ in range(300):
            if self.process.poll() is not None:
                return
            await asyncio.sleep(0.1)
        self.kill()


@asynccontextmanager
async def workers(*pairs: tuple[Path, Path]) -> AsyncIterator[list[Worker]]:
    running = [Worker(config, log) for config, log in pairs]
    try:
        for worker in running:
            await worker.start()
        yield running
    finally:
        for worker in running:
            await worker.stop()


class WebhookSender:
    """Telegram's side of a webhook: POST each update until it gets a 200, several at
    once; anything else (an error status, a dropped connection) is posted again."""

    def __init__(self, url: str, connections: int = 40, retry_after: float = 0.3) -> None:
        self.url = url
        self.connections = connections
        self.retry_after = retry_after
        self.queue: asyncio.Queue[Json] = asyncio.Queue()
        self.acknowledged: list[int] = []
        self.refused = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None

    def push(self, *updates: Json) -> None:
        for update in updates:
            self.queue.put_nowait(update)

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._tasks = [asyncio.create_task(self._deliver()) for _ in range(self.connections)]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()

    async def delivered(self, count: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while len(set(self.acknowledged)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(set(self.acknowledged))}/{count} acknowledged")
            await asyncio.sleep(0.05)

    async def _deliver(self) -> None:
        assert self._session is not None
        while True:
            update = await self.queue.get()
            while True:
                try:
                    async with self._session.post(
                        self.url,
                        json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                    ) as response:
                        await response.read()
                        if response.status == 200:
                            self.acknowledged.append(int(update["update_id"]))
                            break
                        self.refused += 1
                except (aiohttp.ClientError, OSError, TimeoutError):
                    self.refused += 1
                await asyncio.sleep(self.retry_after)


def replies_per_chat(api: FakeBotAPI) -> dict[int, int]:
    counts: dict[int, int] = {}
    for call in api.calls_to("sendMessage"):
        chat = int(call.params["chat_id"])
        counts[chat] = counts.get(chat, 0) + 1
    return counts


async def settle(
    api: FakeBotAPI,
    expected: int,
    timeout: float = 120.0,
    quiet: float = 2.0,
    idle: float | None = None,
) -> None:
    """Wait until at least ``expected`` replies went out and then none for ``quiet`` s; with
    ``idle``, also stop once none came for that long (a reply that can never come — a send
    in flight at a kill — then costs ``idle``, not the whole ``timeout``; the caller's
    count of what is missing decides)."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(api.calls_to("sendMessage"))
        if count != last:
            last, since = count, time.monotonic()
        elif count >= expected and time.monotonic() - since >= quiet:
            return
        elif idle is not None and time.monotonic() - since >= idle:
            return
        await asyncio.sleep(0.1)


# -- stores the test owns ---------------------------------------------------------------
class OwnRedis:
    """A redis-server on a free port with no persistence: stop() loses everything."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server not installed")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = await asyncio.to_thread(
            subprocess.Popen,
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await wait_port(self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        pytest.skip("PostgreSQL server binaries not found under /usr/lib/postgresql")
    return Path(found[-1]).parent


class OwnPostgres:
    """initdb + pg_ctl in a temporary directory, on a free port (as the postgres user
    when the test runs as root, which PostgreSQL refuses to run as)."""

    def __init__(self) -> None:
        self.port = free_port()
        # its own directory: pytest's tmp_path is closed to the postgres user
        self.workdir = Path(tempfile.mkdtemp(prefix="warmline-pg-"))
        self.data = self.workdir / "data"
        self.bin = postgres_bin()

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise AssertionError(f"{args[0]} failed: {done.stdout}{done.stderr}")

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    async def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.workdir} -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.workdir / "log"),
            "-w",
            "start",
        )
        await wait_port(self.port)

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(AssertionError):
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


async def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on {port}") from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
