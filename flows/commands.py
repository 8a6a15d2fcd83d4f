"""Member-journey commands and buttons: offers, satisfaction, points, invites,
and the admin tools /order, /tag, /untag (/segment is in push/handlers/segments.py)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from bot.context import Context
from bot.events import ButtonPressed, MemberJoined
from bot.i18n.money import money
from bot.router import Router
from flows.config import ProductConfig
from flows.engine import FlowEngine
from flows.tags import clean_tag
from storage.records import MemberRecord

router = Router("journey")
_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


def _engine(ctx: Context) -> FlowEngine | None:
    return ctx.services.find(FlowEngine)


def _has_engine(ctx: Context) -> bool:
    return _engine(ctx) is not None


def _joined_group(ctx: Context) -> bool:
    return isinstance(ctx.event, MemberJoined) and not ctx.chat.is_private and _has_engine(ctx)


@router.button("jy:")
async def flow_button(ctx: Context) -> None:
    engine = _engine(ctx)
    event = ctx.event
    if engine is None or ctx.member is None or not isinstance(event, ButtonPressed):
        await ctx.answer_button()
        return
    replies = await engine.press(ctx.member, event.data, ctx.services.clock.now())
    await ctx.answer_button(ctx.t("journey.already_answered") if replies == [] else None)
    for text, buttons in replies or ():
        await ctx.reply_private(text, buttons)


@router.joined(_joined_group)
async def group_joined(ctx: Context) -> None:
    engine = _engine(ctx)
    if engine is not None and ctx.member is not None and not ctx.event.user.is_bot:
        await engine.on_group_join(ctx.member, ctx.chat, ctx.services.clock.now())


@router.command("points", scope="private", summary_key="commands.points")
async def points(ctx: Context) -> None:
    engine = _engine(ctx)
    if engine is None or ctx.member is None:
        return
    await ctx.reply(ctx.t("journey.points", count=await engine.orders.balance(ctx.member.id)))


@router.command("invite", scope="private", summary_key="commands.invite")
async def invite(ctx: Context) -> None:
    engine = _engine(ctx)
    if engine is None or ctx.member is None:
        return
    state = await engine.journeys.get(ctx.member.id)
    if state is None:
        await ctx.reply(ctx.t("journey.no_journey"))
        return
    link = await engine.referral_link(state.referral_code)
    points = engine.config.points
    await ctx.reply(
        ctx.t(
            "journey.invite",
            link=link,
            points=points.referrer,
            friend=points.friend,
            count=points.referrer,
        )
    )


@router.command("birthday", scope="private", summary_key="commands.birthday")
async def birthday(ctx: Context) -> None:
    engine = _engine(ctx)
    assert ctx.message is not None and ctx.message.command is not None
    if engine is None or ctx.member is None:
        return
    raw = ctx.message.command.args.strip()
    if not _MONTH_DAY.match(raw):
        await ctx.reply(ctx.t("journey.birthday_usage"))
        return
    if await engine.journeys.get(ctx.member.id) is None:
        await ctx.reply(ctx.t("journey.no_journey"))
        return
    await engine.journeys.set_birthday(ctx.member.id, raw)
    await ctx.reply(ctx.t("journey.birthday_saved", day=raw))


async def _member_arg(ctx: Context, raw: str) -> MemberRecord | None:
    """By id or username: on Telegram, admins know members by ``@username``."""
    return await ctx.services.members.find(ctx.event.platform, raw)


@router.command("order", admin_only=True, summary_key="commands.order")
async def order(ctx: Context) -> None:
    engine = _engine(ctx)
    assert ctx.message is not None and ctx.message.command is not None
    argv = ctx.message.command.argv
    if engine is None or len(argv) != 3:
        await ctx.reply(ctx.t("journey.order_usage"))
        return
    who, sku, raw_amount = argv
    try:
        amount = float(raw_amount.replace(",", "."))
    except ValueError:
        amount = math.nan
    if not math.isfinite(amount) or amount <= 0:
        await ctx.reply(ctx.t("journey.order_bad_amount", amount=raw_amount))
        return
    member = await _member_arg(ctx, who)
    if member is None:
        await ctx.reply(ctx.t("journey.order_unknown_member", member=who))
        return
    products = engine.config.products
    if sku not in products:
        await ctx.reply(_unknown_product(ctx, sku, products))
        return
    outcome = await engine.place_order(member, sku, amount, ctx.services.clock.now(), "admin")
    if outcome is None:
        await ctx.reply(ctx.t("journey.order_duplicate"))
        return
    await ctx.reply(
        ctx.t(
            "journey.order_done",
            order_id=outcome.order.id,
            member=who,
            sku=sku,
            product=products[sku].name_in(ctx.lang),
            amount=money(amount, ctx.services.config.shop.currency, ctx.lang),
            tier=outcome.tier,
            referral=ctx.t("journey.order_referral") if outcome.referral_rewarded else "",
        )
    )


def _unknown_product(ctx: Context, sku: str, products: Mapping[str, ProductConfig]) -> str:
    """Name the known SKUs, so the admin can retype; an order for a product the
    shop does not list would start after-sales about a nameless thing."""
    if not products:
        return ctx.t("journey.order_no_products", sku=sku[:64])
    known = ", ".join(f"{key} ({p.name_in(ctx.lang)})" for key, p in sorted(products.items()))
    return ctx.t("journey.order_unknown_product", sku=sku[:64], known=known)


async def _tag_command(ctx: Context, add: bool) -> None:
    engine = _engine(ctx)
    assert ctx.message is not None and ctx.message.command is not None
    argv = ctx.message.command.argv
    if engine is None or len(argv) != 2:
        await ctx.reply(ctx.t("journey.tag_usage"))
        return
    who, raw_tag = argv
    tag = clean_tag(raw_tag)
    if tag is None:
        await ctx.reply(ctx.t("journey.bad_tag", tag=raw_tag))
        return
    member = await _member_arg(ctx, who)
    if member is None:
        await ctx.reply(ctx.t("journey.order_unknown_member", member=who))
        return
    if add:
        await engine.tags.add(member.id, [tag], ctx.services.clock.now())
        await ctx.reply(ctx.t("journey.tagged", member=who, tag=tag))
    elif await engine.tags.remove(member.id, tag):
        await ctx.reply(ctx.t("journey.untagged", member=who, tag=tag))
    else:
        await ctx.reply(ctx.t("journey.not_tagged", member=who, tag=tag))


@router.command("tag", admin_only=True, summary_key="commands.tag")
async def tag(ctx: Context) -> None:
    await _tag_command(ctx, add=True)


@router.command("untag", admin_only=True, summary_key="commands.untag")
async def untag(ctx: Context) -> None:
    await _tag_command(ctx, add=False)
