"""Named audiences for broadcasts; ``all`` is built in, features add their own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from bot.services import Services

#: yields member ids in batches, in ascending id order
SegmentSource = Callable[[Services], AsyncIterator[list[int]]]


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
    def __init__(self) -> None:
        self._sources: dict[str, SegmentSource] = {"all": all_reachable}

    def register(self, name: str, source: SegmentSource) -> None:
        self._sources[name] = source

    def names(self) -> list[str]:
        return sorted(self._sources)

    def __contains__(self, name: object) -> bool:
        return name in self._sources

    def batches(self, name: str, services: Services) -> AsyncIterator[list[int]]:
        return self._sources[name](services)
