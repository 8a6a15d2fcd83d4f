"""Paced delivery against the fake Bot API: 5,000 recipients at 30/s, then with injected 429s.

The server (tests/fake_bot_api.py) enforces Telegram's overall limit as a token
bucket (30 per second, burst 30) and answers 429 with ``retry_after`` beyond
it, so "zero 429s" means the pacer never went over. Messages go through the
real aiogram adapter (its retry policy on) and the gate's ``PacedSender``.

    python bench/delivery.py [--recipients 5000] [--rate 30] [--injected 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "tests"))

from aiohttp import web  # noqa: E402
from fake_bot_api import TOKEN, FakeBotAPI  # noqa: E402

from bot.adapters.telegram_platform import TelegramConfig  # noqa: E402
from bot.events import ChatKind, ChatRef, OutgoingMessage  # noqa: E402
from push.config import PacingConfig  # noqa: E402
from push.pacing import PacedSender, Pacer  # noqa: E402


class LimitedBotAPI(FakeBotAPI):
    """The fake API plus Telegram's overall send limit (token bucket)."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.rate = rate
        self._tokens = rate
        self._stamp = time.monotonic()
        self.over_limit = 0

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["method"] == "sendMessage":
            now = time.monotonic()
            self._tokens = min(self.rate, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens < 1:
                self.over_limit += 1
                self.fail("sendMessage", 429, retry_after=1)
            else:
                self._tokens -= 1
        return await super()._handle(request)


async def deliver(recipients: int, rate: float, inject: int) -> None:
    from bot.adapters.aiogram_adapter import AiogramAdapter

    server = LimitedBotAPI(rate)
    await server.start()
    adapter = AiogramAdapter(TelegramConfig(token=TOKEN, api_base=server.url))
    sender = PacedSender(adapter, Pacer(PacingConfig(per_second=rate)), max_retries=10)
    chats = [ChatRef("telegram", str(1000 + n), ChatKind.PRIVATE) for n in range(recipients)]
    queue: asyncio.Queue[ChatRef | None] = asyncio.Queue()
    for chat in chats:
        queue.put_nowait(chat)

    async def worker() -> None:
        while (chat := await queue.get()) is not None:
            await sender.send(OutgoingMessage(chat, f"hello {chat.id}"))

    if inject:
        for step in range(1, 6):  # five 429 bursts spread over the run

            async def later(delay: float = step * recipients / rate / 6) -> None:
                await asyncio.sleep(delay)
                server.fail("sendMessage", 429, times=3, retry_after=1)

            asyncio.get_running_loop().create_task(later())
    workers = [asyncio.create_task(worker()) for _ in range(50)]
    started = time.perf_counter()
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - started
    delivered = Counter(int(c.params["chat_id"]) for c in server.calls_to("sendMessage"))
    got_429 = len([c for c in server.calls if c.method == "sendMessage" and c.status == 429])
    lost = sum(1 for chat in chats if delivered[int(chat.id)] == 0)
    doubled = sum(1 for n in delivered.values() if n > 1)
    achieved = recipients / elapsed
    label = "with injected 429s" if inject else "clean run"
    print(
        f"{label:20}: {recipients:,} messages in {elapsed:6.1f} s = {achieved:5.2f}/s "
        f"({achieved / rate:6.1%} of {rate:g}/s); 429s: {got_429} "
        f"(over the limit: {server.over_limit}); lost: {lost}; sent twice: {doubled}"
    )
    await adapter.close()
    await server.close()


async def main(recipients: int, rate: float, injected: int) -> None:
    await deliver(recipients, rate, inject=0)
    if injected:
        await deliver(injected, rate, inject=1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--injected", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.recipients, args.rate, args.injected))
