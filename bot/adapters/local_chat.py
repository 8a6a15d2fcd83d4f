"""``warmline chat``: a terminal conversation with the bot over the local adapter (the
local platform's command, :mod:`bot.adapters.local_platform`).

Lines starting with ``:`` steer the session (who you are, where you speak);
everything else is sent to the bot as a message.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from bot.adapters.local import PLATFORM, Action, LocalAdapter
from bot.adapters.local_platform import local_config
from bot.commandline import ConfigOption, err, load_or_exit
from bot.config import resolve_config_path
from bot.config.model import WarmlineConfig
from bot.errors import WarmlineError
from bot.events import ChatKind, ChatRef, OutgoingMessage, UserRef
from bot.start_notes import StartNotes

if TYPE_CHECKING:
    from bot.app import App

HELP = """[bold]Speak as a member[/]: type text or /commands; [bold]:press N[/] presses button N of the last message.
[bold]:as NAME[/]  become member NAME      [bold]:admin[/]  become the bot admin
[bold]:dm[/]  talk in your DM with the bot    [bold]:group[/]  talk in the demo group
[bold]:join[/] / [bold]:leave[/]  join or leave the demo group   [bold]:who[/]  where you are
[bold]:help[/]  this text   [bold]:quit[/]  leave (Ctrl-D works too)"""


class ChatSession:
    """The state of one terminal session: who speaks, where, and the last buttons seen."""

    def __init__(
        self, app: App, adapter: LocalAdapter, console: Console, files: Path = Path()
    ) -> None:
        self.app = app
        #: where files the bot sends (``/mydata``) are written
        self.files = files
        self.adapter = adapter
        self.console = console
        admins = app.config.bot.admins
        self.admin_id = admins[0] if admins else "admin"
        self.user = UserRef(PLATFORM, "guest", "Guest", language_code="en")
        self.group = ChatRef(PLATFORM, "-100", ChatKind.GROUP, local_config(app.config).demo_group)
        self.in_group = False
        self.last_buttons: list[str] = []
        adapter.listeners.append(self.show)

    @property
    def chat(self) -> ChatRef:
        return self.group if self.in_group else self.adapter.dm(self.user)

    def show(self, action: Action) -> None:
        where = "group" if action.chat.kind is not ChatKind.PRIVATE else f"DM {action.chat.id}"
        if action.kind in {"send", "edit"} and action.message is not None:
            self._show_message(action, where, action.message)
        elif action.kind == "document" and action.document is not None:
            document = action.document
            saved = save_file(self.files, document.filename, document.content)
            self.console.print(
                f"[cyan]bot → {where}[/] 📎 {document.filename} ({len(document.content)} bytes), "
                f"saved to {saved}",
                highlight=False,
                soft_wrap=True,
            )
        else:
            who = f" {action.user.id}" if action.user else ""
            self.console.print(
                f"[magenta]bot action[/] {action.kind}{who} in {where} {action.detail or ''}"
            )

    def _show_message(self, action: Action, where: str, message: OutgoingMessage) -> None:
        label = "edited" if action.kind == "edit" else "bot"
        self.console.print(f"[cyan]{label} → {where}[/] {message.text}", highlight=False)
        buttons = [button for row in message.buttons for button in row]
        if buttons and message.chat.id in {self.chat.id, self.user.id}:
            self.last_buttons = [button.data or "" for button in buttons]
            for number, button in enumerate(buttons, 1):
                self.console.print(
                    f"   [{number}] {button.text}" + (f" ({button.url})" if button.url else "")
                )

    async def handle(self, line: str) -> bool:
        """Process one input line; False means quit."""
        if not line.strip():
            return True
        if line.startswith(":"):
            return await self._steer(shlex.split(line[1:]) or [""])
        await self.adapter.deliver(self.adapter.message(self.user, self.chat, line))
        await self._settle()
        return True

    async def _steer(self, words: list[str]) -> bool:
        verb, args = words[0].lower(), words[1:]
        if verb in {"quit", "q", "exit"}:
            return False
        if verb == "as" and args:
            name = args[0]
            self.user = UserRef(
                PLATFORM, name.lower(), name, language_code=args[1] if len(args) > 1 else "en"
            )
        elif verb == "admin":
            self.user = UserRef(PLATFORM, self.admin_id, "Admin", language_code="en")
        elif verb == "dm":
            self.in_group = False
        elif verb == "group":
            self.in_group = True
        elif verb == "join":
            self.in_group = True
            await self.adapter.deliver(self.adapter.joined(self.user, self.group))
        elif verb == "leave":
            self.in_group = False
            await self.adapter.deliver(self.adapter.left(self.user, self.group))
        elif (
            verb == "press"
            and args
            and args[0].isdigit()
            and 0 < int(args[0]) <= len(self.last_buttons)
        ):
            data = self.last_buttons[int(args[0]) - 1]
            await self.adapter.deliver(self.adapter.press(self.user, self.chat, data))
        elif verb == "who":
            pass
        else:
            self.console.print(HELP)
            return True
        await self._settle()
        self.console.print(
            f"[dim]you are {self.user.display_name} ({self.user.id}) in {self._where()}[/]"
        )
        return True

    def _where(self) -> str:
        return f"the group {self.group.title}" if self.in_group else "your DM with the bot"

    async def _settle(self) -> None:
        """Let the update runner finish, so replies print before the next prompt."""
        await self.app.runner.wait_idle()


def save_file(folder: Path, filename: str, content: bytes) -> Path:
    """Write a file the bot sent into ``folder`` without overwriting one already there."""
    folder.mkdir(parents=True, exist_ok=True)
    name = Path(filename).name or "file"  # never a path the bot chose
    stem, suffix = Path(name).stem, Path(name).suffix
    target = folder / name
    number = 1
    while True:
        try:
            with target.open("xb") as handle:
                handle.write(content)
            return target.resolve()
        except FileExistsError:
            number += 1
            target = folder / f"{stem}-{number}{suffix}"


def chat(
    config: ConfigOption = None,
    files: Annotated[
        Path,
        typer.Option(
            "--files", help="Folder for files the bot sends you, e.g. /mydata (default: here)."
        ),
    ] = Path(),
) -> None:
    """Talk to the bot in this terminal, as any member or as an admin (no token)."""
    from bot.cli import logs

    cfg = load_or_exit(config)
    if config is None and resolve_config_path(None) is None:
        err.print(
            "[yellow]No config.yaml or config.example.yaml in this folder: chatting with the "
            "defaults, without a knowledge base (run from the repository, or pass -c FILE).[/]"
        )
    # the conversation is the output: Warmline's own INFO lines would bury it
    logs.setup_logging(
        logging.WARNING, cfg.logging.libraries, "%(levelname)s %(name)s: %(message)s"
    )
    try:
        asyncio.run(run_chat(cfg, files))
    except WarmlineError as exc:
        err.print(f"[bold red]Cannot start:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None


async def run_chat(config: WarmlineConfig, files: Path = Path()) -> None:
    from bot.app import App

    console = Console()
    if config.bot.platform != PLATFORM:
        config = config.model_copy(
            update={"bot": config.bot.model_copy(update={"platform": PLATFORM})}
        )
    adapter = LocalAdapter(local_config(config).bot_username, admins=config.bot.admins)
    app = App(config, adapter=adapter)
    notes = app.services.find(StartNotes)
    for line in notes.lines if notes is not None else []:
        Console(stderr=True).print(f"[dim]{escape(line)}[/]", highlight=False)
    await app.start()
    session = ChatSession(app, adapter, console, files)
    console.print(
        "[bold green]Warmline local chat[/] — no token, no network. Type :help for controls."
    )
    console.print(
        f"[dim]you are {session.user.display_name} in your DM with the bot; try /start[/]"
    )
    try:
        while True:
            try:
                line = await asyncio.to_thread(
                    console.input, f"[bold]{session.user.display_name}[/]> "
                )
            except EOFError:
                break
            if not await session.handle(line):
                break
    finally:
        await app.stop()
