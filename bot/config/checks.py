"""Checks that decide whether the bot can start, shared by validation and start-up.

Each check here used to run only when ``warmline run`` reached the part that
needed it (a traceback, or "Cannot start" after the database was opened). The
config models call them as validators, so ``warmline config check`` fails the
same way, naming the key; the runtime parts call them too, so a config built
in code gets the same message.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, ValidationInfo

if TYPE_CHECKING:
    from bot.config.model import WarmlineConfig

#: the HMAC key of inline buttons; shorter keys are guessable
MIN_CALLBACK_SECRET_BYTES = 16
#: database backends the storage layer and its migrations are written for
_BACKENDS = {
    "sqlite": "sqlite+aiosqlite:///FILE",
    "postgresql": "postgresql+asyncpg://USER@HOST/DB",
}


#: validation context key: the folder of the config file (relative paths start there)
CONFIG_DIR = "config_dir"
#: validation context key of a feature's section: the core config, validated already
CORE_CONFIG = "core_config"


def config_dir_of(info: ValidationInfo) -> Path | None:
    """The config file's folder when validating a loaded file (None for configs built in code)."""
    context = info.context if isinstance(info.context, dict) else {}
    folder = context.get(CONFIG_DIR)
    return Path(folder) if folder is not None else None


def core_config_of(info: ValidationInfo) -> WarmlineConfig | None:
    """While a feature's section is validated: the core sections (``bot``, ``storage``…)
    it may check itself against; None when the section is validated on its own."""
    context = info.context if isinstance(info.context, dict) else {}
    found: WarmlineConfig | None = context.get(CORE_CONFIG)
    return found


def resolve_folders(folders: list[str], config_dir: Path, key: str, what: str) -> list[str]:
    """Relative folders against the config file's folder; each must exist."""
    resolved = []
    for number, folder in enumerate(folders):
        path = Path(folder).expanduser()
        path = path if path.is_absolute() else config_dir / path
        if not path.is_dir():
            raise KeyProblem(f"{key}.{number}", f"{path}: {what} not found")
        resolved.append(str(path))
    return resolved


class KeyProblem(ValueError):
    """A problem with a key below the one being validated (``key`` is relative, dotted).

    A model-level check raises this so the loader can name ``http.listen`` rather
    than just ``http``. With ``from_top`` the key is the full dotted path instead:
    a feature's section that needs a core key (``storage.redis_url``) names that key.
    """

    def __init__(self, key: str, message: str, *, from_top: bool = False) -> None:
        super().__init__(message)
        self.key = key
        self.from_top = from_top


def split_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (IPv6 as ``[::1]:8080``) → host and port."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"listen address must look like 127.0.0.1:8080 (got {listen!r})")
    return host.strip("[]"), int(port)


def check_listen(listen: str) -> str:
    split_listen(listen)
    return listen


def check_callback_secret(value: str | None) -> str | None:
    if value is not None and len(value.encode()) < MIN_CALLBACK_SECRET_BYTES:
        raise ValueError(
            f"must be at least {MIN_CALLBACK_SECRET_BYTES} bytes (got {len(value.encode())}); "
            "or null to derive one"
        )
    return value


def check_database_url(url: str) -> str:
    """Parseable, a backend we support, an async driver that is installed, a folder that exists."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    forms = " or ".join(_BACKENDS.values())
    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
    except ArgumentError:
        raise ValueError(f"not a database URL; use {forms} (got {url!r})") from None
    got = f"(got {parsed.render_as_string(hide_password=True)!r})"
    if backend not in _BACKENDS:
        raise ValueError(f"unsupported database {backend!r}; use {forms} {got}")
    try:
        dialect = parsed.get_dialect(_is_async=True)
    except NoSuchModuleError:
        raise ValueError(f"unknown driver {parsed.drivername!r}; use {forms} {got}") from None
    if not dialect.is_async:
        raise ValueError(
            f"the driver {parsed.drivername!r} is not asynchronous; use {_BACKENDS[backend]} {got}"
        )
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        extra = " (pip install 'warmline[postgres]')" if backend == "postgresql" else ""
        raise ValueError(
            f"the driver for {parsed.drivername!r} is not installed ({exc}){extra} {got}"
        ) from None
    database = parsed.database
    if backend == "sqlite" and database and database != ":memory:":
        folder = Path(database).expanduser().parent
        if not folder.is_dir():
            raise ValueError(f"the folder {str(folder)!r} of the SQLite file does not exist {got}")
    return url


def check_redis_url(url: str | None) -> str | None:
    if url is None:
        return None
    from redis.connection import parse_url

    try:
        parse_url(url)  # type: ignore[no-untyped-call]
    except ValueError as exc:
        shown = re.sub(r"//[^@/]*@", "//***@", url)
        raise ValueError(f"{exc}, e.g. redis://127.0.0.1:6379/0 (got {shown!r})") from None
    return url


ListenAddress = Annotated[str, AfterValidator(check_listen)]
CallbackSecret = Annotated[str | None, AfterValidator(check_callback_secret)]
DatabaseUrl = Annotated[str, AfterValidator(check_database_url)]
RedisUrl = Annotated[str | None, AfterValidator(check_redis_url)]
