"""Campaigns and broadcasts: preview, then a resumable fan-out through the gate.

The audience is first written to the outbox (``push_outbox``, one row per
member); workers then take pending rows in id order and submit each through
the gate with the key ``campaign:<id>``. The gate reserves that key before it
sends, so a member is never sent the same campaign twice, and a fan-out that
dies midway (cancel, crash, ``kill -9``) resumes from the rows still pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.push.contract import Category, Decision, PushMessage
from bot.push.gate import Gate
from bot.push.segments import Segments
from bot.services import Services
from storage.database import Database
from storage.push import CampaignRow, CampaignStore, members_by_ids
from storage.records import MemberRecord

log = logging.getLogger("warmline.push.campaigns")

Tally = Counter[tuple[str, str | None]]


@dataclass(frozen=True, slots=True)
class Preview:
    campaign_id: str
    segment: str
    audience: int
    #: (outcome, reason) → members, as the gate would decide right now
    plan: Tally
    #: ``vip = tag:vip tier:core`` for a saved segment, else the segment as given
    described: str = ""


@dataclass(frozen=True, slots=True)
class Progress:
    campaign_id: str
    #: (state, reason) → members; state is pending | sent | deferred | dropped
    tally: Tally
    finished: bool

    @property
    def total(self) -> int:
        return sum(self.tally.values())

    @property
    def done(self) -> int:
        return self.total - sum(n for (state, _), n in self.tally.items() if state == "pending")


ProgressHook = Callable[[Progress], Awaitable[None]]


class Campaigns:
    def __init__(
        self,
        services: Services,
        db: Database,
        gate: Gate,
        store: CampaignStore,
        segments: Segments,
        workers: int = 32,
        progress_every: float = 2.0,
    ) -> None:
        self.services = services
        self.store = store
        self.segments = segments
        self._db = db
        self._gate = gate
        self._workers = workers
        self._progress_every = progress_every
        self._tasks: dict[str, asyncio.Task[Progress]] = {}
        self._inflight: set[asyncio.Future[Decision]] = set()

    async def draft(
        self,
        segment: str,
        text: str,
        *,
        created_by: str | None = None,
        notify_chat: str | None = None,
        category: Category = Category.BROADCAST,
        priority: int = 0,
    ) -> Preview:
        """Store a draft and tell how the gate would treat its audience now; the
        segment's filter is kept with it, so the broadcast goes to what was previewed."""
        audience_of = await self.segments.resolve(segment)  # UnknownSegment, SegmentError
        now = self.services.clock.now()
        campaign_id = f"{now:%Y%m%d%H%M}-{secrets.token_hex(3)}"
        plan: Tally = Counter()
        audience = 0
        async for batch in self.segments.batches(audience_of, self.services):
            audience += len(batch)
            members = await members_by_ids(self._db, batch)
            plan += await self._gate.plan(members, key_of(campaign_id), category, priority)
        await self.store.create(
            CampaignRow(
                campaign_id,
                audience_of.name[:64],
                text,
                category.value,
                priority,
                "draft",
                False,
                created_by,
                notify_chat,
                now,
                str(audience_of.filter) if audience_of.filter is not None else None,
            )
        )
        return Preview(campaign_id, segment, audience, plan, audience_of.describe())

    def launch(self, campaign_id: str, progress: ProgressHook | None = None) -> None:
        """Run the fan-out in the background (the admin's chat stays responsive)."""
        task = self._tasks.get(campaign_id)
        if task is None or task.done():
            self._tasks[campaign_id] = asyncio.create_task(
                self.run(campaign_id, progress), name=f"campaign-{campaign_id}"
            )

    async def confirm(self, campaign_id: str) -> bool:
        """Draft → running; False when it is not a draft (already confirmed or unknown)."""
        return await self.store.set_status(campaign_id, "running", expect="draft")

    async def run(
        self, campaign_id: str, progress: ProgressHook | None = None, every: float | None = None
    ) -> Progress:
        """Materialise the outbox if needed, then deliver every pending row once."""
        campaign = await self.store.get(campaign_id)
        if campaign is None:
            raise LookupError(f"no campaign {campaign_id!r}")
        if campaign.status == "draft":
            await self.confirm(campaign_id)
        if not campaign.materialised:
            audience = self.segments.frozen(campaign.segment, campaign.audience)
            async for batch in self.segments.batches(audience, self.services):
                await self.store.enqueue(campaign_id, batch)
            await self.store.mark_materialised(campaign_id)
        message = PushMessage(campaign.text, key_of(campaign_id), campaign_id=campaign_id)
        reporter = asyncio.create_task(
            self._report(campaign_id, progress, every or self._progress_every)
        )
        try:
            await self._fan_out(
                campaign_id, message, Category(campaign.category), campaign.priority
            )
        finally:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
        await self.store.set_status(campaign_id, "done", at=self.services.clock.now())
        final = Progress(campaign_id, await self.store.tally(campaign_id), finished=True)
        if progress is not None:
            await progress(final)
        return final

    async def _fan_out(
        self, campaign_id: str, message: PushMessage, category: Category, priority: int
    ) -> None:
        queue: asyncio.Queue[MemberRecord | None] = asyncio.Queue(maxsize=self._workers * 4)

        async def work() -> None:
            while (member := await queue.get()) is not None:
                # a submit in flight always completes, even when the fan-out is
                # cancelled, so the gate's key and the outbox row agree on restart
                submit = asyncio.ensure_future(
                    self._gate.submit(member, message, category, priority)
                )
                self._inflight.add(submit)
                submit.add_done_callback(self._inflight.discard)
                await asyncio.shield(submit)

        workers = [asyncio.create_task(work()) for _ in range(self._workers)]
        try:
            after = 0
            while batch := await self.store.pending(campaign_id, after=after):
                members = await members_by_ids(self._db, batch)
                for gone in set(batch) - {m.id for m in members}:
                    now = self.services.clock.now()
                    await self.store.mark(campaign_id, gone, "dropped", "unknown", now)
                for member in members:
                    await queue.put(member)
                after = batch[-1]
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def _report(self, campaign_id: str, progress: ProgressHook | None, every: float) -> None:
        if progress is None:
            return
        while True:
            await asyncio.sleep(every)
            try:
                await progress(Progress(campaign_id, await self.store.tally(campaign_id), False))
            except Exception:
                log.exception("progress report for campaign %s failed", campaign_id)

    async def wait(self, campaign_id: str) -> Progress:
        return await self._tasks[campaign_id]

    async def stop(self) -> None:
        """Stop fanning out; submits in flight finish, the rest stays pending in the outbox."""
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        await asyncio.gather(*self._inflight, return_exceptions=True)
        self._tasks.clear()


def key_of(campaign_id: str) -> str:
    return f"campaign:{campaign_id}"
