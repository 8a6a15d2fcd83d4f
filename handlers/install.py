"""The shared handlers as a feature: their routers, placed among the features'."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features import Feature

if TYPE_CHECKING:
    from bot.app import App


def install_handlers(app: App) -> None:
    from handlers import SHARED  # not for `warmline -h`

    for router, order in SHARED:
        app.include(router, order=order)


#: /mydata, /forgetme and /stats read what the moderation feature provides
#: (MemberData, AdminReader)
FEATURE = Feature("handlers", install_handlers, order=0, requires=("moderation",))
