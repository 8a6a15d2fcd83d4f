"""The segment filter language: parsing, errors, and what each term selects in the
database (SQLite and PostgreSQL), against five members worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from bot.schema import with_feature_tables
from storage.database import Database
from storage.flow_tables import Journey, MemberTag
from storage.segment_filter import MAX_TERMS, SegmentError, SegmentFilter, Term, condition, parse
from storage.segments import MAX_SAVED, SegmentStore, clean_name
from storage.tables import Member

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)

#: name → (language, source, tags, (tier, stage) or no journey, started, reachable, opted out)
PEOPLE: dict[str, tuple[Any, ...]] = {
    "ann": ("zh", "xhs", ["vip"], ("core", "customer"), True, True, False),
    "ben": ("en", None, ["vip", "oolong"], ("active", "offered"), True, True, False),
    "cy": (None, "ads", [], ("ordinary", "greeting"), True, False, False),  # blocked the bot
    "dot": ("fr", None, [], None, False, True, False),  # seen in the group only
    "eve": ("zh", "xhs", ["oolong"], ("ordinary", "value"), True, True, True),  # opted out
}


async def _people(db: Database) -> dict[str, int]:
    ids: dict[str, int] = {}
    async with db.transaction() as conn:
        for n, (name, (lang, source, tags, _journey, started, reachable, opted)) in enumerate(
            PEOPLE.items(), start=1
        ):
            at = T0 + timedelta(hours=n)
            await conn.execute(
                insert(Member).values(
                    id=n,
                    platform="local",
                    user_id=name,
                    display_name=name.title(),
                    username=name,
                    language=lang,
                    source=source,
                    joined_at=at,
                    last_seen_at=at,
                    started_bot=started,
                    reachable=reachable,
                    opted_out=opted,
                )
            )
            ids[name] = n
            for tag in tags:
                await conn.execute(insert(MemberTag).values(member_id=n, tag=tag, at=at))
    async with db.session() as session, session.begin():
        for name, person in PEOPLE.items():
            if person[3] is not None:
                tier, stage = person[3]
                session.add(
                    Journey(
                        member_id=ids[name],
                        tier=tier,
                        stage=stage,
                        started_at=T0,
                        referral_code=f"R{ids[name]}",
                        updated_at=T0,
                        seen=[],
                    )
                )
    return ids


@pytest.fixture
async def people(db: Database) -> dict[str, int]:
    return await _people(db)


async def _who(db: Database, text: str, default_language: str = "en") -> list[str]:
    stmt = (
        select(Member.user_id).where(condition(parse(text), default_language)).order_by(Member.id)
    )
    async with db.reading() as conn:
        return list((await conn.execute(stmt)).scalars())


def test_terms_parse_to_a_canonical_filter() -> None:
    found = parse("  TAG:VIP   !Tier:Core source:XHS lang:ZH stage:Offered tag:vip ")
    assert found == SegmentFilter(
        (
            Term("tag", "vip"),
            Term("tier", "core", negated=True),
            Term("source", "XHS"),  # sources keep their case: deep links are case-sensitive
            Term("lang", "zh"),
            Term("stage", "offered"),
        )
    )
    assert str(found) == "tag:vip !tier:core source:XHS lang:zh stage:offered"
    assert parse(str(found)) == found


@pytest.mark.parametrize(
    ("text", "code", "says"),
    [
        ("", "empty", "at least one term"),
        ("vip", "not_a_term", "tag:vip"),
        ("!vip", "not_a_term", '"!vip" is not a filter term'),
        ("colour:red", "unknown_kind", 'unknown kind "colour"'),
        ("tag:", "no_value", '"tag:" needs a value'),
        ("tag:VIP!", "bad_tag", "a tag is lower-case"),
        ("tier:gold", "bad_tier", 'unknown tier "gold"; tiers: ordinary, active, core'),
        ("lang:fr", "bad_lang", 'unknown language "fr"; languages: zh, en'),
        ("stage:lost", "bad_stage", "stages: greeting, value, offered, customer"),
        ("source:a/b", "bad_source", "a source is letters"),
        (" ".join(f"tag:t{n}" for n in range(MAX_TERMS + 1)), "too_many", "at most 12"),
    ],
)
def test_bad_terms_get_a_specific_error(text: str, code: str, says: str) -> None:
    with pytest.raises(SegmentError) as caught:
        parse(text)
    assert caught.value.code == code
    assert says in str(caught.value)


def test_segment_names() -> None:
    assert clean_name(" VIP-zh ") == "vip-zh"
    for bad, code in (("tag:vip", "bad_name"), ("a b", "bad_name"), ("all", "reserved_name")):
        with pytest.raises(SegmentError) as caught:
            clean_name(bad)
        assert caught.value.code == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tag:vip", ["ann", "ben"]),
        ("!tag:vip", ["cy", "dot", "eve"]),
        ("tag:vip tag:oolong", ["ben"]),
        ("tier:core", ["ann"]),
        ("tier:active", ["ben"]),
        ("tier:ordinary", ["cy", "dot", "eve"]),  # no journey, no orders: ordinary
        ("!tier:ordinary", ["ann", "ben"]),
        ("source:xhs", ["ann", "eve"]),
        ("source:direct", ["ben", "dot"]),  # no source recorded
        ("!source:direct", ["ann", "cy", "eve"]),
        ("lang:zh", ["ann", "eve"]),
        ("lang:en", ["ben", "cy", "dot"]),  # none chosen, or one the bot lacks: the default
        ("!lang:zh", ["ben", "cy", "dot"]),
        ("stage:customer", ["ann"]),
        ("stage:value", ["eve"]),
        ("!stage:greeting", ["ann", "ben", "dot", "eve"]),
        ("tag:oolong !lang:zh", ["ben"]),
        ("tag:vip lang:zh tier:core stage:customer source:xhs", ["ann"]),
        ("tag:vip !tag:vip", []),
        ("tag:nobody", []),
    ],
)
async def test_each_term_selects_in_the_database(
    db: Database, people: dict[str, int], text: str, expected: list[str]
) -> None:
    assert await _who(db, text) == expected


async def test_lang_follows_the_bots_default_language(db: Database, people: dict[str, int]) -> None:
    assert await _who(db, "lang:zh", default_language="zh") == ["ann", "cy", "dot", "eve"]
    assert await _who(db, "lang:en", default_language="zh") == ["ben"]


async def test_saved_segments_counts_and_audience(db: Database, people: dict[str, int]) -> None:
    store = SegmentStore(db)
    assert await store.save("VIP", parse("tag:vip"), T0) is True
    assert await store.save("zh", parse("lang:zh !tier:core"), T0) is True
    assert await store.save("vip", parse("tag:vip tier:core"), T0 + timedelta(1)) is False
    saved = await store.saved()
    assert [(s.name, str(s.filter)) for s in saved] == [
        ("vip", "tag:vip tier:core"),
        ("zh", "lang:zh !tier:core"),
    ]
    counts = await store.counts([None, *(s.filter for s in saved)])
    # reachable: started the bot and not blocked (an opted-out member is the gate's to drop)
    assert [(c.members, c.reachable) for c in counts] == [(5, 3), (1, 1), (1, 1)]
    oolong = parse("tag:oolong")
    assert await store.reachable_ids(oolong) == [people["ben"], people["eve"]]
    assert await store.reachable_ids(oolong, after_id=people["ben"]) == [people["eve"]]
    assert await store.reachable_ids(None, limit=2) == [people["ann"], people["ben"]]
    assert [m.user_id for m in await store.sample(parse("!tag:vip"), 2)] == ["eve", "dot"]
    assert (await store.get("ZH")) is not None
    assert await store.delete("zh") is True
    assert await store.delete("zh") is False
    assert [s.name for s in await store.saved()] == ["vip"]
    with pytest.raises(SegmentError) as caught:
        await store.save("all", oolong, T0)
    assert caught.value.code == "reserved_name"


async def test_saved_segments_are_bounded(sqlite_url: str) -> None:
    db = with_feature_tables(Database(sqlite_url))
    await db.migrate()
    try:
        store = SegmentStore(db)
        for n in range(MAX_SAVED):
            await store.save(f"s{n}", parse(f"tag:t{n}"), T0)
        assert await store.save("s0", parse("tag:x"), T0) is False  # redefining still works
        with pytest.raises(SegmentError) as caught:
            await store.save("one-more", parse("tag:x"), T0)
        assert caught.value.code == "too_many_saved"
    finally:
        await db.close()
