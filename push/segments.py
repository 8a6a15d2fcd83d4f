"""Broadcast audiences: ``all``, a feature's named segment, an admin's saved segment,
or a filter such as ``tag:vip`` (the language of :mod:`storage.segment_filter`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime

from bot.services import Services
from storage.segment_filter import SegmentError, SegmentFilter, is_filter, parse
from storage.segments import SegmentStore, clean_name

#: yields member ids in batches, in ascending id order
SegmentSource = Callable[[Services], AsyncIterator[list[int]]]


class UnknownSegment(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"unknown segment {name!r}; known: {', '.join(known)}; or give a filter such as tag:vip"
        )
        self.name = name
        self.known = known


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a broadcast goes to: a built-in source by ``name``, or members matching ``filter``."""

    name: str
    filter: SegmentFilter | None = None

    def describe(self) -> str:
        """``vip = tag:vip tier:core`` for a saved segment, else what was asked for."""
        shown = str(self.filter) if self.filter is not None else self.name
        return shown if shown == self.name else f"{self.name} = {shown}"


async def all_reachable(services: Services) -> AsyncIterator[list[int]]:
    """Every member who started the bot and has not blocked it."""
    after = 0
    while True:
        batch = await services.members.reachable_ids(after_id=after, limit=1000)
        if not batch:
            return
        yield batch
        after = batch[-1]


class Segments:
    def __init__(self, store: SegmentStore) -> None:
        self.store = store
        self._sources: dict[str, SegmentSource] = {"all": all_reachable}

    def register(self, name: str, source: SegmentSource) -> None:
        self._sources[name] = source

    def names(self) -> list[str]:
        """The built-in segments (``all`` and features' own); saved ones are in the store."""
        return sorted(self._sources)

    async def save(self, name: str, segment: SegmentFilter, at: datetime) -> bool:
        """Save ``name`` (True: new, False: redefined); a built-in name is refused."""
        if clean_name(name) in self._sources:
            raise SegmentError("reserved_name", name=name)
        return await self.store.save(name, segment, at)

    async def known(self) -> list[str]:
        return self.names() + [s.name for s in await self.store.saved()]

    async def resolve(self, spec: str) -> Audience:
        """A built-in name, a filter (bad terms raise ``SegmentError``) or a saved name."""
        spec = spec.strip()
        if spec in self._sources:
            return Audience(spec)
        if is_filter(spec):
            return Audience(spec, parse(spec))
        saved = await self.store.get(spec)
        if saved is None:
            raise UnknownSegment(spec, await self.known())
        return Audience(saved.name, saved.filter)

    def frozen(self, name: str, filter_text: str | None) -> Audience:
        """The audience a campaign was previewed with (its filter as stored then)."""
        if filter_text is None:
            if name not in self._sources:
                raise UnknownSegment(name, self.names())
            return Audience(name)
        return Audience(name, parse(filter_text))

    async def batches(self, audience: Audience, services: Services) -> AsyncIterator[list[int]]:
        """The audience's member ids in id order, 1000 at a time."""
        if audience.filter is None:
            async for batch in self._sources[audience.name](services):
                yield batch
            return
        after = 0
        while batch := await self.store.reachable_ids(audience.filter, after_id=after):
            yield batch
            after = batch[-1]
