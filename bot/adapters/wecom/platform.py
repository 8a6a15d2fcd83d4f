"""WeCom (企业微信) as a platform: what it declares to the registry besides its adapter.

Its section ``bot.wecom`` (:class:`~bot.adapters.wecom.config.WeComConfig`), the two
secrets that may come from the environment, what must be set before it starts, and
``warmline wecom``. Cheap to import (no wechatpy): the registry imports it whenever a
config is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.adapters.wecom.config import WeComConfig
from bot.extras import missing
from bot.platforms import Platform

if TYPE_CHECKING:
    import typer


def start_problem(section: WeComConfig | None) -> tuple[str, str] | None:
    """What the WeCom adapter needs before any network call (keys below ``bot``)."""
    if section is None:
        return "wecom", "required when bot.platform is wecom (docs/wecom.md)"
    problem = section.first_problem()
    if problem is not None:
        return f"wecom.{problem[0]}", problem[1]
    absent = missing("wechatpy", "WeCom", extra="wecom")
    if absent is not None:
        return "platform", absent
    return None


def commands(cli: typer.Typer) -> None:
    """``warmline wecom …``."""
    from bot.adapters.wecom.cli import wecom_app

    cli.add_typer(wecom_app, name="wecom")


PLATFORM = Platform(
    "wecom",
    "bot.adapters.wecom.adapter:build",
    config=WeComConfig,
    start_problem=start_problem,
    env={"WECOM_CORP_SECRET": "secret", "WECOM_ENCODING_AES_KEY": "encoding_aes_key"},
    commands=commands,
)
