"""``warmline wecom contact-way``: a QR code per acquisition channel (渠道活码).

Customers who add the merchant through it arrive with ``state=src-<channel>``,
which the bot records as their source, as a Telegram ``/start src-…`` link does.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from bot.adapters.wecom.config import WeComConfig
from bot.commandline import ConfigOption, err, load_or_exit
from bot.errors import WarmlineError

wecom_app = typer.Typer(no_args_is_help=True, help="WeCom (企业微信): contact ways.")


@wecom_app.command("contact-way")
def contact_way(
    source: Annotated[
        str, typer.Option("--source", help="The acquisition channel, e.g. xiaohongshu.")
    ],
    staff: Annotated[
        str | None,
        typer.Option("--staff", help="The staff userid customers add (default: bot.wecom.sender)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Create a contact way for SOURCE and print its QR code URL."""

    cfg = load_or_exit(config)
    wecom = cfg.bot.platform_section("wecom", WeComConfig)
    if wecom is None:
        err.print("bot.wecom: this command needs the WeCom section (docs/wecom.md)")
        raise typer.Exit(2)
    from bot.adapters.wecom.contact_way import create_contact_way, state_for

    try:
        state = state_for(source)
        config_id, qr = asyncio.run(create_contact_way(wecom, source=source, staff=staff))
    except ValueError as exc:
        err.print(escape(str(exc)), highlight=False)
        raise typer.Exit(2) from None
    except WarmlineError as exc:
        err.print(f"[bold red]WeCom refused:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    Console().print(f"state {state}  config_id {config_id}\n{qr}", markup=False, highlight=False)
