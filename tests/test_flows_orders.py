"""Orders: after-sales on the right days (across a restart), referrals, points, tiers, tags."""

from __future__ import annotations

from datetime import timedelta

from flows_support import journey

CHECK = "jy:after_sales:check:"
PRODUCTS = {"green": {"name": "Green tea", "cycle": "20d", "remind_before": "3d"}}

#: fixtures: journey_url (a copy of a database migrated once per session)
pytest_plugins = ("flows_fixtures",)


async def test_after_sales_steps_fire_on_their_days_and_survive_a_restart(
    database_url: str,
) -> None:
    async with journey(database_url, products=PRODUCTS) as j:
        await j.bot.say(j.bot.user("Alice"), "/start")
        ordered_at = j.clock.now()
        replies = await j.bot.say(j.bot.user("admin"), "/order alice green 39.90")
        assert "Order #1" in replies[-1].text and "active" in replies[-1].text
        thanks = [s for s in j.to("alice") if "Thank you for your order" in s.message.text]
        assert thanks and thanks[0].at == ordered_at  # transactional: at once
        await j.advance(timedelta(days=1), step=timedelta(hours=3))
        clock, sent = j.clock, j.sent
    # the bot restarts between day 1 and day 2; timers live in the database
    async with journey(database_url, start=clock.now(), products=PRODUCTS) as j:
        j.sent[:0] = sent
        await j.advance(timedelta(days=7), step=timedelta(hours=6))
        care = [s for s in j.to("alice") if "care note" in s.message.text]
        assert len(care) == 1 and timedelta(days=2) <= care[0].at - ordered_at < timedelta(days=3)
        checks = j.with_button("alice", CHECK)
        assert len(checks) == 1
        assert timedelta(days=7) <= checks[0].at - ordered_at < timedelta(days=8)
        answer = await j.press("Alice", j.button(checks[0], "satisfied"))
        assert any("t.me/warmline_bot?start=ref-" in m.text for m in answer)
        await j.advance(timedelta(days=12), step=timedelta(hours=6))
        reminders = [s for s in j.to("alice") if "running low" in s.message.text]
        assert len(reminders) == 1
        assert timedelta(days=17) <= reminders[0].at - ordered_at < timedelta(days=18)


async def test_unhappy_member_is_handed_to_an_admin(journey_url: str) -> None:
    async with journey(journey_url, products=PRODUCTS) as j:
        bob = j.bot.user("Bob")
        await j.bot.say(bob, "/start")
        await j.bot.say(j.bot.user("admin"), "/order bob green 20")
        await j.advance(timedelta(days=8), step=timedelta(hours=8))
        check = j.with_button("bob", CHECK)[0]
        answer = await j.bot.press(bob, j.button(check, "unhappy"))
        assert any("person from our team" in m.text for m in answer)
        assert any("not happy" in s.message.text for s in j.to("admin"))
        state = await j.engine.journeys.get(1)
        assert state is not None and state.complaints == 1
        assert "needs-care" in await j.engine.tags.of(1)


async def test_referral_rewards_both_once_per_friend(database_url: str) -> None:
    async with journey(
        database_url, points={"referrer": 100, "friend": 50}, products=PRODUCTS
    ) as j:
        alice, bob, admin = j.bot.user("Alice"), j.bot.user("Bob"), j.bot.user("admin")
        await j.bot.say(alice, "/start")
        link = (await j.bot.say(alice, "/invite"))[0].text
        code = link.split("start=ref-")[1].split()[0]
        await j.bot.say(bob, f"/start ref-{code}")
        first = await j.bot.say(admin, "/order bob green 30")
        assert "Referral reward paid" in first[-1].text
        second = await j.bot.say(admin, "/order bob green 30")
        assert "Referral reward" not in second[-1].text
        assert "100 points" in (await j.bot.say(alice, "/points"))[0].text
        assert "50 points" in (await j.bot.say(bob, "/points"))[0].text
        # a member cannot refer themselves
        carol = j.bot.user("Carol")
        await j.bot.say(carol, "/start")
        carol_code = (await j.bot.say(carol, "/invite"))[0].text.split("start=ref-")[1].split()[0]
        await j.engine.services.members.set_source_once(3, None, carol_code)
        third = await j.bot.say(admin, "/order carol green 30")
        assert "Referral reward" not in third[-1].text
        assert "0 points" in (await j.bot.say(carol, "/points"))[0].text


async def test_tiers_follow_orders(journey_url: str) -> None:
    async with journey(
        journey_url,
        tiers={"core": {"min_orders": 3, "min_spent": 100, "within": "60d"}},
        products=PRODUCTS,
    ) as j:
        await j.bot.say(j.bot.user("Dee"), "/start")
        admin = j.bot.user("admin")
        tiers = []
        for _ in range(3):
            reply = await j.bot.say(admin, "/order dee green 40")
            tiers.append(reply[-1].text.rsplit("Tier: ", 1)[1].split(".")[0])
        assert tiers == ["active", "active", "core"]


async def test_orders_placed_in_one_batch_count_as_one_after_another(journey_url: str) -> None:
    from flows.purchase import Purchase

    async with journey(journey_url) as j:
        await j.bot.say(j.bot.user("Ivy"), "/start")
        ivy = await j.engine.services.members.get("local", "ivy")
        assert ivy is not None
        at = j.clock.now()
        first, second = await j.engine.place_orders(
            [Purchase(ivy, "green", 40.0, "shop"), Purchase(ivy, "green", 25.0, "shop")], at
        )
        assert first is not None and second is not None
        assert (first.order.previous_orders, second.order.previous_orders) == (0, 1)
        state = await j.engine.journeys.get(ivy.id)
        assert state is not None and state.purchases == 2 and state.stage == "customer"
        thanks = [s for s in j.to("ivy") if "Thank you for your order" in s.message.text]
        assert len(thanks) == 2  # after-sales started for each order


async def test_admin_commands_check_their_arguments(journey_url: str) -> None:
    async with journey(journey_url, products=PRODUCTS) as j:
        admin = j.bot.user("admin")
        await j.bot.say(j.bot.user("Eve"), "/start")
        assert "Usage: /order" in (await j.bot.say(admin, "/order eve"))[0].text
        assert "positive number" in (await j.bot.say(admin, "/order eve tea -3"))[0].text
        assert "No member ghost" in (await j.bot.say(admin, "/order ghost tea 3"))[0].text
        # an unknown SKU is refused, naming the known ones; nothing is recorded
        unknown = (await j.bot.say(admin, "/order eve tea 3"))[0].text
        assert 'no product "tea"' in unknown and "green (Green tea)" in unknown
        assert "Order #1 " in (await j.bot.say(admin, "/order eve green 3"))[-1].text
        assert "only bot admins" in (await j.bot.say(j.bot.user("Eve"), "/order eve tea 3"))[0].text
        assert "Tagged eve" in (await j.bot.say(admin, "/tag eve VIP"))[0].text
        await j.bot.say(admin, "/tag eve oolong")
        assert "A tag is" in (await j.bot.say(admin, "/tag eve no!"))[0].text
        segment = (await j.bot.say(admin, "/segment tag:vip tag:oolong"))[0].text
        assert "members: 1," in segment and "Eve" in segment
        assert "Removed vip" in (await j.bot.say(admin, "/untag eve vip"))[0].text
        assert "has no tag vip" in (await j.bot.say(admin, "/untag eve vip"))[0].text
        assert "tag:vip" in (await j.bot.say(admin, "/segment vip"))[0].text  # not a term


async def test_group_join_welcomes_in_group_and_dms_only_starters(journey_url: str) -> None:
    async with journey(journey_url) as j:
        fay, gus = j.bot.user("Fay"), j.bot.user("Gus")
        await j.bot.say(fay, "/start")
        await j.bot.deliver(j.bot.adapter.joined(fay, j.bot.group))
        await j.bot.deliver(j.bot.adapter.joined(gus, j.bot.group))
        welcomes = [s for s in j.to(j.bot.group.id) if "Welcome" in s.message.text]
        assert len(welcomes) == 2
        await j.advance(timedelta(hours=1))
        assert any("joined the group" in s.message.text for s in j.to("fay"))
        assert not j.to("gus")  # bots cannot DM people who never started them


async def test_group_with_its_own_welcome_gets_one_welcome_not_two(journey_url: str) -> None:
    async with journey(journey_url, moderation={"welcome": {"enabled": True}}) as j:
        hal = j.bot.user("Hal")
        await j.bot.deliver(j.bot.adapter.joined(hal, j.bot.group))
        in_group = [s.message.text for s in j.to(j.bot.group.id)]
        assert len(in_group) == 1, in_group


async def test_birthday_greeting_goes_through_the_gate_once(journey_url: str) -> None:
    async with journey(journey_url, greetings={"birthday": True}) as j:
        ivy = j.bot.user("Ivy")
        await j.bot.say(ivy, "/start")
        assert "Usage" in (await j.bot.say(ivy, "/birthday 13-45"))[0].text
        tomorrow = (j.clock.now() + timedelta(days=1)).strftime("%m-%d")
        assert tomorrow in (await j.bot.say(ivy, f"/birthday {tomorrow}"))[0].text
        await j.advance(timedelta(days=2), step=timedelta(hours=2))
        wishes = [s for s in j.to("ivy") if "Happy birthday" in s.message.text]
        assert len(wishes) == 1 and wishes[0].at.strftime("%m-%d") == tomorrow
