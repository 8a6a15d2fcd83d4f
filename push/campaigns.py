"""Campaigns and broadcasts: preview, then a resumable fan-out through the gate.

The audience is first written to the outbox (``push_outbox``, one row per
member); workers then take pending rows in id order and submit each through
the gate with the key ``campaign:<id>``. The gate reserves that key before it
sends, so a member is never sent the same campaign twice, and a fan-out that
dies midway (cancel, crash, ``kill -9``) resumes from the rows still pending.

With several workers, a running campaign is sent by the one worker holding its
lease (:mod:`push.campaign_lease`), renewed on a heartbeat. Every worker
looks for running campaigns whose lease ran out (their sender died) and takes
them over, so a broadcast survives its worker; a starting worker never resumes
a campaign a live worker is still sending.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.services import Services
from push.campaign_lease import CampaignLeases
from push.config import push_config
from push.contract import Category, Decision, PushMessage
from push.gate import Gate
from push.mass import MassBroadcast, able_mass
from push.preview import Plan
from push.segments import Segments
from push.store import CampaignRow, CampaignStore, members_by_ids
from storage.database import Database
from storage.records import MemberRecord

log = logging.getLogger("warmline.push.campaigns")

Tally = Counter[tuple[str, str | None]]


class CampaignBusy(RuntimeError):
    """Another live worker holds the campaign's lease (or it is not running)."""


@dataclass(frozen=True, slots=True)
class Preview:
    campaign_id: str
    segment: str
    audience: int
    #: (outcome, reason) → members, as the gate would decide right now (and when the
    #: deferred ones would come due)
    plan: Plan
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
#: the progress hook of a campaign this worker takes over (None: report nowhere)
ResumeHook = Callable[[CampaignRow], ProgressHook | None]


def worker_name() -> str:
    """This process in ``lease_owner``: readable, and unique even after a pid is reused."""
    return f"{socket.gethostname()[:48]}:{os.getpid()}:{secrets.token_hex(4)}"


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
        lease_ttl: timedelta = timedelta(seconds=10),
    ) -> None:
        self.services = services
        self.store = store
        self.segments = segments
        self._db = db
        self._gate = gate
        self._workers = workers
        self._progress_every = progress_every
        self._tasks: dict[str, asyncio.Task[Progress | None]] = {}
        self._inflight: set[asyncio.Future[Decision]] = set()
        self.leases = CampaignLeases(db, worker_name())
        self.lease_ttl = lease_ttl
        self._watcher: asyncio.Task[None] | None = None

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
        plan = Plan()
        audience = 0
        async for batch in self.segments.batches(audience_of, self.services):
            audience += len(batch)
            members = await members_by_ids(self._db, batch)
            plan.merge(await self._gate.plan(members, key_of(campaign_id), category, priority))
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
        """Run the fan-out in the background (the admin's chat stays responsive); a
        campaign another live worker is sending is left to it."""
        task = self._tasks.get(campaign_id)
        if task is None or task.done():
            self._tasks[campaign_id] = asyncio.create_task(
                self._run_unless_busy(campaign_id, progress), name=f"campaign-{campaign_id}"
            )

    async def _run_unless_busy(
        self, campaign_id: str, progress: ProgressHook | None
    ) -> Progress | None:
        try:
            return await self.run(campaign_id, progress)
        except CampaignBusy:
            log.info("campaign %s is being sent by another worker", campaign_id)
            return None

    def watch(self, resume: ResumeHook) -> None:
        """Take over, now and every third of the lease, running campaigns whose
        sender stopped renewing its lease."""
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch(resume), name="campaign-watch")

    async def _watch(self, resume: ResumeHook) -> None:
        while True:
            try:
                await self.adopt_orphans(resume)
            except Exception:
                log.exception("looking for campaigns to take over failed; trying again")
            await asyncio.sleep(self.lease_ttl.total_seconds() / 3)

    async def adopt_orphans(self, resume: ResumeHook) -> list[str]:
        """Launch every running campaign nobody holds a valid lease on."""
        adopted = []
        for campaign_id in await self.leases.orphaned(_wall_clock()):
            task = self._tasks.get(campaign_id)
            if task is not None and not task.done():
                continue
            row = await self.store.get(campaign_id)
            if row is None:
                continue
            log.info("taking over campaign %s from its outbox", campaign_id)
            self.launch(campaign_id, resume(row))
            adopted.append(campaign_id)
        return adopted

    async def confirm(self, campaign_id: str) -> bool:
        """Draft → running, with this worker's lease taken in the same update (so no other
        worker adopts it before :meth:`launch`); False when it is not a draft."""
        return await self.leases.confirm(campaign_id, _wall_clock(), self.lease_ttl)

    async def run(
        self, campaign_id: str, progress: ProgressHook | None = None, every: float | None = None
    ) -> Progress:
        """Materialise the outbox if needed, then deliver every pending row once, while
        holding the campaign's lease (:class:`CampaignBusy` when another worker does)."""
        campaign = await self.store.get(campaign_id)
        if campaign is None:
            raise LookupError(f"no campaign {campaign_id!r}")
        if campaign.status == "draft":
            await self.confirm(campaign_id)
        if not await self.leases.claim(campaign_id, _wall_clock(), self.lease_ttl):
            raise CampaignBusy(f"campaign {campaign_id!r} is sent by another worker")
        body = asyncio.create_task(self._holding(campaign, progress, every))
        heartbeat = asyncio.create_task(self._heartbeat(campaign_id, body))
        try:
            return await body
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # we are being stopped
            raise CampaignBusy(f"campaign {campaign_id!r}: lease lost") from None
        finally:
            heartbeat.cancel()
            body.cancel()
            await asyncio.gather(body, heartbeat, return_exceptions=True)
            await asyncio.shield(self.leases.release(campaign_id))

    async def _holding(
        self, campaign: CampaignRow, progress: ProgressHook | None, every: float | None
    ) -> Progress:
        campaign_id = campaign.id
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
            mass = self._mass()
            if mass is not None:  # the platform's broadcasts are tasks staff confirm
                await mass.run(campaign_id, message, Category(campaign.category))
            else:
                await self._fan_out(
                    campaign_id, message, Category(campaign.category), campaign.priority
                )
        finally:
            reporter.cancel()
            await asyncio.gather(reporter, return_exceptions=True)
        settled = await self.leases.settle_interrupted(campaign_id, self.services.clock.now())
        if settled:
            log.warning(
                "campaign %s: %d sends were cut off by a dead worker before the platform "
                "answered; they are not repeated (state unconfirmed)",
                campaign_id,
                settled,
            )
        await self.store.set_status(campaign_id, "done", at=self.services.clock.now())
        final = Progress(campaign_id, await self.store.tally(campaign_id), finished=True)
        if progress is not None:
            await progress(final)
        return final

    def _mass(self) -> MassBroadcast | None:
        sender = able_mass(self.services.adapter)
        if sender is None:
            return None
        config = push_config(self.services.config).campaigns
        return MassBroadcast(
            self.services,
            self._db,
            self._gate,
            self.store,
            sender,
            config.mass_poll,
            config.mass_wait,
        )

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

    async def _heartbeat(self, campaign_id: str, fan_out: asyncio.Task[Progress]) -> None:
        """Renew the lease every third of it; a worker that lost it stops sending."""
        while True:
            await asyncio.sleep(self.lease_ttl.total_seconds() / 3)
            try:
                held = await self.leases.renew(campaign_id, _wall_clock(), self.lease_ttl)
            except Exception:
                log.exception("campaign %s: renewing the lease failed", campaign_id)
                continue  # it may still be valid; the next beat tries again
            if not held:
                log.warning("campaign %s: lease lost to another worker; stopping", campaign_id)
                fan_out.cancel()
                return

    async def _report(self, campaign_id: str, progress: ProgressHook | None, every: float) -> None:
        if progress is None:
            return
        while True:
            await asyncio.sleep(every)
            try:
                await progress(Progress(campaign_id, await self.store.tally(campaign_id), False))
            except Exception:
                log.exception("progress report for campaign %s failed", campaign_id)

    async def wait(self, campaign_id: str) -> Progress | None:
        """The final progress; None when another worker was sending it."""
        return await self._tasks[campaign_id]

    async def stop(self) -> None:
        """Stop fanning out; submits in flight finish, the rest stays pending in the outbox
        and the leases are given back, so another worker continues at once."""
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        await asyncio.gather(*self._inflight, return_exceptions=True)
        self._tasks.clear()


def key_of(campaign_id: str) -> str:
    return f"campaign:{campaign_id}"


def _wall_clock() -> datetime:
    """Leases are about processes being alive: real time, never a simulated clock."""
    return datetime.now(UTC)
