"""The window ledger and adapter state on every database backend."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from storage.database import Database
from storage.windows import AdapterStateStore, Window, WindowLedger

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KF = Window(span=timedelta(hours=48), messages=5)


async def test_a_window_opens_when_the_person_writes_and_holds_five(db: Database) -> None:
    windows = WindowLedger(db)
    assert not await windows.take("wecom", "wmA", KF, NOW)  # never wrote: closed
    await windows.opened("wecom", "wmA", NOW, "m1")
    assert [await windows.take("wecom", "wmA", KF, NOW) for _ in range(6)] == [True] * 5 + [False]
    state = await windows.state("wecom", "wmA")
    assert state is not None and state.used == 5 and not state.allows(KF, NOW)
    await windows.give_back("wecom", "wmA")
    assert await windows.take("wecom", "wmA", KF, NOW)


async def test_the_window_closes_after_its_span_and_only_a_later_message_reopens(
    db: Database,
) -> None:
    windows = WindowLedger(db)
    await windows.opened("wecom", "wmA", NOW, "m1")
    await windows.take("wecom", "wmA", KF, NOW)
    await windows.opened("wecom", "wmA", NOW, "m1")  # pulled again after a crash: no reset
    assert (await windows.state("wecom", "wmA")).used == 1  # type: ignore[union-attr]
    assert not await windows.take("wecom", "wmA", KF, NOW + timedelta(hours=48, seconds=1))
    await windows.opened("wecom", "wmA", NOW - timedelta(hours=1), "m0")  # an older message, late
    state = await windows.state("wecom", "wmA")
    assert state is not None and (state.opened_at, state.used) == (NOW, 1)
    later = NOW + timedelta(hours=50)
    await windows.opened("wecom", "wmA", later, "m2")
    state = await windows.state("wecom", "wmA")
    assert state is not None and (state.opened_at, state.used) == (later, 0)
    assert state.open_until(KF) == later + timedelta(hours=48)
    await windows.take("wecom", "wmA", KF, later)
    await windows.opened("wecom", "wmA", later, "m3")  # another message in the same second
    state = await windows.state("wecom", "wmA")
    assert state is not None and state.used == 0


async def test_concurrent_takes_never_exceed_the_window(db: Database) -> None:
    windows = WindowLedger(db)
    await windows.opened("wecom", "wmB", NOW, "m1")
    taken = await asyncio.gather(*(windows.take("wecom", "wmB", KF, NOW) for _ in range(20)))
    assert sum(taken) == 5


async def test_adapter_state_is_kept_by_name(db: Database) -> None:
    state = AdapterStateStore(db)
    assert await state.load("wecom:kf:cursor:wk1") == ""
    await state.save("wecom:kf:cursor:wk1", "4")
    await state.save("wecom:kf:cursor:wk1", "9")
    assert await state.load("wecom:kf:cursor:wk1") == "9"
    # a mass send's tasks with their recipients: up to 10000 external_userids of 32
    # characters each (PostgreSQL refused more than 1024 characters until 0018)
    tasks = json.dumps(
        [{"id": "m1", "sender": "zhang", "to": [f"wm{n:030d}" for n in range(10000)]}]
    )
    await state.save("wecom:mass:push-20261203200000-0123456789ab", tasks)
    assert await state.load("wecom:mass:push-20261203200000-0123456789ab") == tasks


async def test_a_confirm_code_works_once_before_expiry_for_its_admin(db: Database) -> None:
    from storage.confirm_codes import ConfirmCodes

    codes = ConfirmCodes(db)
    code = await codes.issue("push:bc:ok:c1", "zhang", NOW + timedelta(minutes=10))
    assert len(code) == 6 and code.isupper()
    assert await codes.redeem(code, "li", NOW) is None  # another admin
    assert await codes.redeem(code, "zhang", NOW + timedelta(minutes=11)) is None  # too late
    assert await codes.redeem(code.lower(), "zhang", NOW) == "push:bc:ok:c1"
    assert await codes.redeem(code, "zhang", NOW) is None  # once
    assert await codes.prune(NOW + timedelta(minutes=11)) == 1
