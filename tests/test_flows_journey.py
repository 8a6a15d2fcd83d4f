"""The trust-first journey on a virtual clock: offers wait for trust, time and value."""

from __future__ import annotations

import itertools
from datetime import timedelta

from flows_support import journey

VALUE = "jy:value_content:deliver:"
OFFER = "jy:soft_offer:offer:"

#: fixtures: journey_url (a copy of a database migrated once per session)
pytest_plugins = ("flows_fixtures",)


async def test_no_offer_before_eligibility_and_value_first(journey_url: str) -> None:
    async with journey(journey_url, offer={"min_trust": 30}) as j:
        alice = j.bot.user("Alice")
        joined = j.clock.now()
        await j.bot.say(alice, "/start")
        for _ in range(10):  # an eager member: trust rises fast, but time and value must pass
            await j.bot.say(alice, "how should I store green tea?")
            await j.advance(timedelta(days=1), step=timedelta(hours=4))
        offers = j.with_button("alice", OFFER)
        values = j.with_button("alice", VALUE)
        assert len(values) >= 3
        assert all(o.at - joined >= timedelta(days=7) for o in offers)
        await j.advance(timedelta(days=12), step=timedelta(hours=4))
        offers = j.with_button("alice", OFFER)
        assert offers, "an eligible member gets a soft offer"
        first = offers[0].at
        assert len([v for v in j.with_button("alice", VALUE) if v.at < first]) >= 4
        state = await j.engine.journeys.get(1)
        assert state is not None and state.score(first, j.engine.config.trust) >= 30


async def test_low_trust_member_never_gets_an_offer(journey_url: str) -> None:
    async with journey(journey_url, offer={"min_trust": 90}) as j:
        await j.bot.say(j.bot.user("Quiet"), "/start")
        await j.advance(timedelta(days=25), step=timedelta(days=1))
        assert j.with_button("quiet", VALUE)
        assert not j.with_button("quiet", OFFER)


async def test_four_value_messages_between_offers(journey_url: str) -> None:
    async with journey(
        journey_url,
        offer={"min_trust": 0, "min_days": 0, "cooldown": "1d"},
        content={"cadence": "1d"},
    ) as j:
        await j.bot.say(j.bot.user("Bea"), "/start")
        await j.advance(timedelta(days=20), step=timedelta(hours=12))
        kinds = [
            "offer" if s in j.with_button("bea", OFFER) else "value"
            for s in j.to("bea")
            if s.data and (s.data[0].startswith(OFFER) or s.data[0].startswith(VALUE))
        ]
        assert kinds.count("offer") >= 3
        run = 0
        for kind in kinds:
            if kind == "offer":
                assert run >= 4, kinds
                run = 0
            else:
                run += 1


async def test_not_now_doubles_the_cooldown(journey_url: str) -> None:
    async with journey(
        journey_url,
        offer={"min_trust": 0, "min_days": 0, "value_per_offer": 1, "cooldown": "2d"},
        content={"cadence": "1d"},
    ) as j:
        cara = j.bot.user("Cara")
        await j.bot.say(cara, "/start")
        declined_at = []
        for _ in range(3):
            before = len(j.with_button("cara", OFFER))
            while len(j.with_button("cara", OFFER)) == before:
                await j.advance(timedelta(hours=12))
            offer = j.with_button("cara", OFFER)[-1]
            not_now = j.button(offer, "not_now")
            answer = await j.bot.press(cara, not_now)
            assert any("No problem" in m.text for m in answer)
            declined_at.append(offer.at)
        gaps = [b - a for a, b in itertools.pairwise(declined_at)]
        assert gaps[0] >= timedelta(days=4), gaps  # 2d doubled
        assert gaps[1] >= timedelta(days=8), gaps  # doubled again
        state = await j.engine.journeys.get(1)
        assert state is not None and state.declines == 3
        # a second press of the same button is not a second "no"
        await j.bot.press(cara, not_now)
        state = await j.engine.journeys.get(1)
        assert state is not None and state.offer_cooldown_s == 16 * 86400


async def test_interested_notifies_an_admin_without_product_link(journey_url: str) -> None:
    async with journey(
        journey_url, offer={"min_trust": 0, "min_days": 0, "value_per_offer": 1}
    ) as j:
        dan = j.bot.user("Dan")
        await j.bot.say(dan, "/start")
        while not j.with_button("dan", OFFER):
            await j.advance(timedelta(hours=6))
        interested = j.button(j.with_button("dan", OFFER)[0], "interested")
        await j.bot.press(dan, interested)
        assert any("interested" in s.message.text for s in j.to("admin"))
        assert "interested" in await j.engine.tags.of(1)


async def test_messages_and_answered_questions_raise_trust(journey_url: str) -> None:
    async with journey(journey_url) as j:
        gil = j.bot.user("Gil")
        await j.bot.say(gil, "/start")
        await j.bot.say(gil, "hello there")
        services = j.bot.app.services
        # the Q&A handler records this interaction when the knowledge base answered
        await services.interactions.record(1, "question_answered", j.clock.now(), "gil")
        state = await j.engine.journeys.get(1)
        assert state is not None and (state.messages, state.questions) == (1, 1)
        weights = j.engine.config.trust
        assert state.score(j.clock.now(), weights) == weights.message + weights.question


async def test_a_button_pressed_twice_in_one_batch_runs_its_step_once(journey_url: str) -> None:
    """A batch of presses (a busy webhook worker) with the same press twice: the step runs
    once and its answers go to the last of the two."""
    async with journey(
        journey_url,
        offer={"min_trust": 0, "min_days": 0, "value_per_offer": 1},
        content={"cadence": "1d"},
    ) as j:
        cara = j.bot.user("Cara")
        await j.bot.say(cara, "/start")
        while not j.with_button("cara", OFFER):
            await j.advance(timedelta(hours=12))
        signed = j.button(j.with_button("cara", OFFER)[-1], "not_now")
        data = signed.rsplit("|", 1)[0]
        member = (await j.engine.members([1]))[1]
        first, second = await j.engine.press_many([(member, data), (member, data)], j.clock.now())
        assert first == [] and second and any("No problem" in text for text, _ in second)
        state = await j.engine.journeys.get(1)
        assert state is not None and state.declines == 1 and state.buttons == 2
