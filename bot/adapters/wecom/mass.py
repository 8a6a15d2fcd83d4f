"""Mass sends (群发): how a broadcast reaches customers on WeCom.

A broadcast becomes one ``add_msg_template`` task per sending staff member
(each customer's follow-user, or ``bot.wecom.sender``); nothing is delivered
until that staff member confirms it in their WeCom client. Outcomes are read
back with ``get_groupmsg_send_result``: status 3 is the platform's own
per-customer cap, recorded as such and never as sent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.adapters.wecom import endpoints as ep
from bot.adapters.wecom.api import WeComApi
from bot.adapters.wecom.kf import CursorStore

FOLLOW_KEY = "wecom:follow:"


class Outcome(StrEnum):
    WAITING = "waiting"  # staff have not confirmed yet
    SENT = "sent"
    PLATFORM_CAP = "platform_cap"  # over the customer's mass-send limit
    UNREACHABLE = "unreachable"  # no longer a contact of the sender


OUTCOMES = {
    ep.SendStatus.UNSENT: Outcome.WAITING,
    ep.SendStatus.SENT: Outcome.SENT,
    ep.SendStatus.OVER_LIMIT: Outcome.PLATFORM_CAP,
    ep.SendStatus.NOT_FRIEND: Outcome.UNREACHABLE,
}


@dataclass(frozen=True, slots=True)
class MassTask:
    """One task a staff member must confirm: ``task_id`` is WeCom's msgid."""

    task_id: str
    sender: str
    recipients: tuple[str, ...]
    refused: tuple[str, ...] = ()


def task_json(task: MassTask) -> dict[str, object]:
    return {
        "id": task.task_id,
        "sender": task.sender,
        "to": list(task.recipients),
        "refused": list(task.refused),
    }


def task_of(item: dict[str, object]) -> MassTask:
    to, refused = item.get("to"), item.get("refused")
    return MassTask(
        str(item["id"]),
        str(item["sender"]),
        tuple(str(c) for c in to) if isinstance(to, list) else (),
        tuple(str(c) for c in refused) if isinstance(refused, list) else (),
    )


class FollowUsers:
    """Which staff member each customer added (the default sender to them)."""

    def __init__(self, state: CursorStore) -> None:
        self._state = state

    async def remember(self, customer: str, staff: str) -> None:
        await self._state.save(FOLLOW_KEY + customer, staff)

    async def of(self, customer: str) -> str:
        return await self._state.load(FOLLOW_KEY + customer)


async def send_mass(
    api: WeComApi,
    follow: FollowUsers,
    recipients: Iterable[str],
    text: str,
    *,
    sender: str | None,
    made: Callable[[MassTask], Awaitable[None]] | None = None,
) -> tuple[list[MassTask], list[str]]:
    """One task per sender; also the customers no sender is known for. ``made`` is
    told of each task as soon as WeCom has made it (to keep it before the next call)."""
    by_sender: dict[str, list[str]] = defaultdict(list)
    orphans: list[str] = []
    for customer in recipients:
        staff = sender or await follow.of(customer)
        if staff:
            by_sender[staff].append(customer)
        else:
            orphans.append(customer)
    tasks = []
    for staff, customers in sorted(by_sender.items()):
        for start in range(0, len(customers), ep.MASS_SEND_MAX):
            part = customers[start : start + ep.MASS_SEND_MAX]
            task_id, refused = await ep.add_msg_template(
                api, sender=staff, external_userids=part, text=text
            )
            task = MassTask(task_id, staff, tuple(part), tuple(refused))
            tasks.append(task)
            if made is not None:
                await made(task)
    return tasks, orphans


async def mass_outcomes(api: WeComApi, task: MassTask) -> dict[str, Outcome]:
    """Each recipient's outcome so far (refused at creation: unreachable)."""
    statuses = await ep.groupmsg_send_result(api, msgid=task.task_id, userid=task.sender)
    outcomes = {c: OUTCOMES[statuses.get(c, ep.SendStatus.UNSENT)] for c in task.recipients}
    for customer in task.refused:
        outcomes[customer] = Outcome.UNREACHABLE
    return outcomes
