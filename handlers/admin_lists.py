"""Admin lists paged with ◀ ▶ buttons that edit the message in place.

``/members`` is the core's list; a feature adds its own (moderation's ``/modlog``)
with :meth:`AdminLists.add`, so the paging lives once and knows no feature."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.context import Context
from bot.events import Button, ButtonPressed, OutgoingMessage
from bot.router import Router
from bot.services import Services
from storage.admin_stats import AdminReader

router = Router("admin_lists")

PAGE_SIZE = 10
PAGE_PREFIX = "pg:"
#: one page of a list: (lines, total items)
Page = Callable[[Context, int, int], Awaitable[tuple[list[str], int]]]


class AdminLists:
    """The lists an admin can page through, by name (``admin.<name>.*`` texts)."""

    def __init__(self) -> None:
        self._pages: dict[str, Page] = {"members": members_page}

    def add(self, name: str, page: Page) -> None:
        self._pages[name] = page

    def get(self, name: str) -> Page | None:
        return self._pages.get(name)


def admin_lists(services: Services) -> AdminLists:
    """This bot's lists, made on first use."""
    return services.find(AdminLists) or services.provide(AdminLists())


def label(ctx: Context, prefix: str, value: str) -> str:
    """The catalog's words for a stored code; the code itself if it is new to the catalog."""
    key = f"{prefix}.{value}"
    return ctx.t(key) if ctx.services.catalog.has(key) else value


async def members_page(ctx: Context, offset: int, limit: int) -> tuple[list[str], int]:
    rows, total = await ctx.services.require(AdminReader).members_page(offset, limit)
    lines = [
        ctx.t(
            "admin.members.line",
            name=row.display_name or row.user_id,
            username=f" @{row.username}" if row.username else "",
            id=row.user_id,
            source=row.source or ctx.t("admin.stats.no_source"),
            joined=row.joined_at.strftime("%Y-%m-%d"),
        )
        for row in rows
    ]
    return lines, total


async def _page(ctx: Context, name: str, provider: Page, page: int) -> OutgoingMessage:
    lines, total = await provider(ctx, page * PAGE_SIZE, PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    header = ctx.t(f"admin.{name}.header", count=total, page=page + 1, pages=pages)
    body = "\n".join(lines) if lines else ctx.t("admin.list.empty")
    row: list[Button] = []
    if page > 0:
        row.append(Button(ctx.t("admin.list.previous"), data=f"{PAGE_PREFIX}{name}:{page - 1}"))
    if page + 1 < pages:
        row.append(Button(ctx.t("admin.list.next"), data=f"{PAGE_PREFIX}{name}:{page + 1}"))
    return OutgoingMessage(
        chat=ctx.chat, text=f"{header}\n\n{body}", buttons=(tuple(row),) if row else ()
    )


async def send_list(ctx: Context, name: str) -> None:
    """Answer ``/<name> [page]`` with that page of the list."""
    assert ctx.message is not None and ctx.message.command is not None
    provider = admin_lists(ctx.services).get(name)
    assert provider is not None, f"admin list {name!r} is not registered"
    argv = ctx.message.command.argv
    if len(argv) > 1 or (argv and (not argv[0].isdigit() or int(argv[0]) < 1)):
        await ctx.reply(ctx.t(f"admin.{name}.usage"))
        return
    page = int(argv[0]) - 1 if argv else 0
    await ctx.services.adapter.send(await _page(ctx, name, provider, min(page, 100_000)))


@router.button(PAGE_PREFIX)
async def turn_page(ctx: Context) -> None:
    event = ctx.event
    assert isinstance(event, ButtonPressed)
    if not ctx.is_bot_admin:
        await ctx.answer_button(ctx.t("errors.admin_only"))
        return
    name, _, number = event.data.removeprefix(PAGE_PREFIX).partition(":")
    provider = admin_lists(ctx.services).get(name)
    if provider is None or not number.isdigit():
        await ctx.answer_button()
        return
    message = await _page(ctx, name, provider, int(number))
    await ctx.answer_button()
    if event.message_id is not None and ctx.services.adapter.capabilities.edit:
        await ctx.services.adapter.edit(ctx.chat, event.message_id, message)
    else:
        await ctx.services.adapter.send(message)
