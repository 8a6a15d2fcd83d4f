"""``/segment``: saved segments with live counts, counting a filter, saving and deleting.

The filter language is :mod:`storage.segment_filter`, the same one /broadcast,
``warmline broadcast`` and the dashboard's member search read.
"""

from __future__ import annotations

from bot.context import Context
from bot.router import Router
from push.segments import Segments
from storage.segment_filter import SegmentError, SegmentFilter, is_filter, parse
from storage.segments import Count

router = Router("segments")
SAMPLE = 20


def error_text(ctx: Context, error: SegmentError) -> str:
    """A filter or name error in the admin's language."""
    return ctx.t(f"segment.error.{error.code}", **error.values)


@router.command("segment", admin_only=True, summary_key="segment.command")
async def segment(ctx: Context) -> None:
    segments = ctx.services.require(Segments)
    assert ctx.message is not None and ctx.message.command is not None
    words = ctx.message.command.argv
    try:
        if not words:
            await _list(ctx, segments)
        elif words[0].lower() == "save":
            await _save(ctx, segments, words[1:])
        elif words[0].lower() == "delete":
            await _delete(ctx, segments, words[1:])
        else:
            await _count(ctx, segments, words)
    except SegmentError as error:
        await ctx.reply(error_text(ctx, error))


def _line(ctx: Context, name: str, count: Count) -> str:
    return ctx.t("segment.line", name=name, members=count.members, reachable=count.reachable)


async def _list(ctx: Context, segments: Segments) -> None:
    saved = await segments.store.saved()
    counts = await segments.store.counts([None, *(s.filter for s in saved)])
    lines = [_line(ctx, "all", counts[0])]
    lines += [
        _line(ctx, f"{s.name} = {s.filter}", n) for s, n in zip(saved, counts[1:], strict=True)
    ]
    if not saved:
        lines.append(ctx.t("segment.none_saved"))
    await ctx.reply(ctx.t("segment.list", lines="\n".join(lines)) + "\n\n" + ctx.t("segment.help"))


async def _filter_of(segments: Segments, words: list[str]) -> tuple[str, SegmentFilter | None]:
    """What ``/segment <words>`` asks about: a filter, a saved name, or ``all``."""
    if len(words) == 1 and not is_filter(words[0]):
        name = words[0].lower()
        if name == "all":
            return "all", None
        saved = await segments.store.get(name)
        if saved is not None:
            return f"{saved.name} = {saved.filter}", saved.filter
    found = parse(" ".join(words))  # a lone word that is no saved name says "not a term"
    return str(found), found


async def _count(ctx: Context, segments: Segments, words: list[str]) -> None:
    label, found = await _filter_of(segments, words)
    [count] = await segments.store.counts([found])
    members = await segments.store.sample(found, SAMPLE)
    names = ", ".join(m.username or m.display_name or m.user_id for m in members)
    if count.members > len(members):
        names += ", …"
    await ctx.reply(
        ctx.t(
            "segment.count",
            filter=label,
            members=count.members,
            reachable=count.reachable,
            sample=names or ctx.t("segment.nobody"),
        )
    )


async def _save(ctx: Context, segments: Segments, words: list[str]) -> None:
    if len(words) < 2:
        await ctx.reply(ctx.t("segment.save_usage"))
        return
    name, found = words[0].lower(), parse(" ".join(words[1:]))
    created = await segments.save(name, found, ctx.services.clock.now())
    [count] = await segments.store.counts([found])
    await ctx.reply(
        ctx.t(
            "segment.saved" if created else "segment.redefined",
            name=name,
            filter=str(found),
            members=count.members,
            reachable=count.reachable,
        )
    )


async def _delete(ctx: Context, segments: Segments, words: list[str]) -> None:
    if len(words) != 1:
        await ctx.reply(ctx.t("segment.delete_usage"))
        return
    name = words[0].lower()
    if await segments.store.delete(name):
        await ctx.reply(ctx.t("segment.deleted", name=name))
        return
    saved = [s.name for s in await segments.store.saved()]
    names = ", ".join(saved) or ctx.t("segment.none")
    await ctx.reply(ctx.t("segment.error.unknown_name", name=name, names=names))
