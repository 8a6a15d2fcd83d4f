"""Built-in step actions and guards of the default playbook."""

from __future__ import annotations

from datetime import timedelta

from bot.events import ChatKind, ChatRef
from bot.group_greeting import GroupGreeter
from flows.lateness import SLOT
from flows.offer import offer_blockers, offer_cooldown
from flows.steps import DONE, SKIPPED, Status, StepRegistry, StepResult, StepRun
from push.contract import Category, PushMessage
from push.gate import Gate


def register_builtins(registry: StepRegistry) -> None:
    for name, action in {
        "open_journey": open_journey,
        "message": message,
        "group_welcome": group_welcome,
        "value_content": value_content,
        "offer": offer,
        "interested": interested,
        "not_now": not_now,
        "trust_signal": trust_signal,
        "referral_invite": referral_invite,
        "handoff": handoff,
        "tag": tag,
        "repurchase": repurchase,
        "holiday": holiday,
    }.items():
        registry.action(name)(action)
    registry.guard("offer_eligible")(offer_eligible)
    registry.guard("started_bot")(started_bot)
    registry.guard("birthday_greetings")(birthday_greetings)


def offer_eligible(run: StepRun) -> bool:
    """The member may get a soft offer now: trust >= flows.offer.min_trust, joined >=
    min_days ago, value_per_offer value messages since the last offer, cooldown passed,
    not opted out."""
    return (
        run.state is not None
        and next(offer_blockers(run.member, run.state, run.engine.config, run.now), None) is None
    )


def started_bot(run: StepRun) -> bool:
    """The member has started the bot (so it may write to them in a DM)."""
    return run.member.started_bot


def birthday_greetings(run: StepRun) -> bool:
    """flows.greetings.birthday is on."""
    return run.engine.config.greetings.birthday


def _category(run: StepRun, default: Category) -> Category:
    return Category(run.step.category) if run.step.category else default


def _vars(run: StepRun) -> dict[str, object]:
    values: dict[str, object] = {"name": run.member.display_name or run.t("start.friend")}
    values.update({k: v for k, v in run.payload.items() if isinstance(v, str | int | float)})
    product = run.engine.config.products.get(str(run.payload.get("sku", "")))
    if product is not None:
        values["product"] = product.name_in(run.engine.lang_of(run.member))
    return values


async def open_journey(run: StepRun) -> StepResult:
    """Create the journey (or start content for a group member who now started the bot)."""
    engine = run.engine
    if run.state is None:
        opened = await engine.open_journeys([run.member], run.now)
        run.state = opened.get(run.member.id) or await engine.journeys.get(run.member.id)
    elif run.state.next_value_at is None and run.member.started_bot:
        first = run.now + engine.config.content.first_after
        run.state.next_value_at = engine.next_slot(run.member, first)
    return DONE


async def message(run: StepRun) -> StepResult:
    """Send the step's ``text`` (required) with its ``buttons``; ``category`` defaults
    to after_sales. The text may use {name}, {product} and the trigger's payload values."""
    if run.step.text is None:
        raise ValueError(f"flow {run.flow.name} step {run.step.id}: message needs text")
    instance = str(run.payload.get("instance", "1"))
    return await run.push(
        run.t(run.step.text, **_vars(run)),
        _category(run, Category.AFTER_SALES),
        run.buttons(instance),
    )


async def group_welcome(run: StepRun) -> StepResult:
    """A short welcome in the group itself. It is a bot post in the group, so it counts
    against ``push.group_per_day`` like any other (a busy day's joins are not all greeted)."""
    chat_id = run.payload.get("chat_id")
    if not chat_id or run.step.text is None:
        return SKIPPED
    greeter = run.engine.services.find(GroupGreeter)
    if greeter is not None and greeter.greets(str(chat_id)):
        return SKIPPED  # the group's own welcome-with-rules already greets: one message, not two
    chat = ChatRef(run.member.platform, str(chat_id), ChatKind.GROUP)
    message = PushMessage(run.t(run.step.text, **_vars(run)), run.key)
    gate = run.engine.services.require(Gate)
    decision = await gate.post_to_group(chat, message, _category(run, Category.GREETING), True)
    return StepResult.of(decision)


async def value_content(run: StepRun) -> StepResult:
    """One unseen library item; a deferred one is offered again (same key) first."""
    state = run.state
    if state is None:
        return SKIPPED
    pending = state.pending if state.pending and state.pending.get("kind") == "value" else None
    item = run.engine.library.get(str(pending["item"])) if pending else None
    if item is None:
        item = run.engine.library.choose(state.seen, run.payload.get("interests", ()))
    if item is None:
        return SKIPPED
    result = await run.push(
        item.text(run.engine.lang_of(run.member)),
        _category(run, Category.VALUE),
        run.buttons(item.id),
        key=f"value:{run.member.id}:{item.id}",
        expires_at=run.now + run.engine.config.content.cadence,
    )
    state.pending = None
    if result.status is Status.DONE:
        state.seen.append(item.id)
        state.values_sent += 1
        state.value_since_offer += 1
        if state.stage == "greeting":
            state.stage = "value"
    elif result.status is Status.DEFERRED:
        state.pending = {"kind": "value", "flow": run.flow.name, "item": item.id}
        _keep_slot(run, state.pending)
    return result


async def offer(run: StepRun) -> StepResult:
    """The soft offer; counts only once the gate delivered it."""
    state = run.state
    if state is None:
        return SKIPPED
    number = state.offers_sent + 1
    result = await run.push(
        run.t(run.step.text or "flows.offer.text", **_vars(run)),
        _category(run, Category.OFFER),
        run.buttons(str(number)),
        key=f"offer:{run.member.id}:{number}",
        expires_at=run.now + run.engine.config.content.cadence,
    )
    state.pending = None
    if result.status is Status.DONE:
        state.offers_sent = number
        state.last_offer_at = run.now
        state.first_offer_at = state.first_offer_at or run.now
        state.value_since_offer = 0
        if state.stage in {"greeting", "value"}:
            state.stage = "offered"
    elif result.status is Status.DEFERRED:
        state.pending = {"kind": "offer", "flow": run.flow.name, "number": number}
        _keep_slot(run, state.pending)
    return result


def _keep_slot(run: StepRun, pending: dict[str, object]) -> None:
    """A deferred message keeps the time its slot was due: its lateness counts from it."""
    if isinstance(run.payload.get(SLOT), str):
        pending[SLOT] = run.payload[SLOT]


async def interested(run: StepRun) -> StepResult:
    """The member pressed "tell me more": tag ``interested``, answer with
    flows.offer.product_url, or tell the bot admins to reach out."""
    run.tag(["interested"])
    url = run.engine.config.offer.product_url
    if url:
        await run.push(run.t("flows.offer.link", url=url), Category.REPLY)
    else:
        await run.engine.tell_admins(run.member, "flows.admin.interested")
        await run.push(run.t("flows.offer.admin_will_contact"), Category.REPLY)
    return DONE


async def not_now(run: StepRun) -> StepResult:
    """Back off: the gap before the next offer doubles."""
    state = run.state
    if state is None:
        return SKIPPED
    # written back with the batch's other journey changes
    state.offer_cooldown_s = int(offer_cooldown(state, run.engine.config).total_seconds() * 2)
    run.signal("declines")
    await run.push(run.t("flows.offer.not_now"), Category.REPLY)
    return DONE


async def trust_signal(run: StepRun) -> StepResult:
    """Count one trust signal: ``params.signal`` (default ``messages``; see flows.trust)."""
    run.signal(run.step.params.get("signal", "messages"))
    return DONE


async def referral_invite(run: StepRun) -> StepResult:
    """Tag ``happy`` and send the member's referral link with the points it pays."""
    state = run.state or await run.engine.journeys.get(run.member.id)
    if state is None:
        return SKIPPED
    run.tag(["happy"])
    link = await run.engine.referral_link(state.referral_code)
    points = run.engine.config.points
    return await run.push(
        run.t(
            "flows.after_sales.invite",
            link=link,
            points=points.referrer,
            friend=points.friend,
            count=points.referrer,
        ),
        _category(run, Category.AFTER_SALES),
    )


async def handoff(run: StepRun) -> StepResult:
    """An unhappy buyer: tag ``needs-care``, count a complaint, tell the bot admins."""
    run.signal("complaints")
    run.tag(["needs-care"])
    await run.engine.tell_admins(run.member, "flows.admin.unhappy")
    return await run.push(run.t("flows.after_sales.handoff"), Category.REPLY)


async def tag(run: StepRun) -> StepResult:
    """Add the tags in ``params.tags`` (comma-separated) to the member."""
    wanted = [t for t in run.step.params.get("tags", "").split(",") if t.strip()]
    run.tag(t.strip() for t in wanted)
    return DONE


async def repurchase(run: StepRun) -> StepResult:
    """Remind a buyer before the product's cycle ends (``text`` default
    flows.after_sales.repurchase; {product} is its name); skipped without a cycle."""
    product = run.engine.config.products.get(str(run.payload.get("sku", "")))
    if product is None or product.cycle <= timedelta(0):
        return SKIPPED
    return await run.push(
        run.t(
            run.step.text or "flows.after_sales.repurchase",
            product=product.name_in(run.engine.lang_of(run.member)),
        ),
        _category(run, Category.AFTER_SALES),
    )


async def holiday(run: StepRun) -> StepResult:
    """A birthday or holiday greeting: flows.occasions.<occasion> from the payload."""
    occasion = str(run.payload.get("occasion", "birthday"))
    text = run.t(f"flows.occasions.{occasion}", **_vars(run))
    return await run.push(text, _category(run, Category.GREETING))
