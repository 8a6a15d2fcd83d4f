from __future__ import annotations

import inspect
import re
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from services import PG_URL, fresh_redis, reset_postgres
from xdist.remote import Producer
from xdist_groups import ModuleGroupScheduling, group_of

from bot.schema import with_feature_tables
from storage.database import Database

#: the Camellia index fixtures, built once per session (tests/knowledge_support.py); the
#: migrated SQLite template behind ``sqlite_url`` (tests/sqlite_template.py); model
#: weights read once per process (tests/shared_models.py)
pytest_plugins = ["knowledge_support", "wecom_support", "sqlite_template", "shared_models"]

REPO = Path(__file__).resolve().parent.parent
SHARED_KB = REPO.parent / "shared" / "kb" / "camellia"
SQLITE = "sqlite+aiosqlite:///"


@pytest.fixture
async def pg_url() -> str:
    await reset_postgres(PG_URL)
    return PG_URL


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each storage contract test runs on SQLite and on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"{SQLITE}{tmp_path / 'warmline.db'}"
    await reset_postgres(PG_URL)
    return PG_URL


@pytest.fixture
async def db(database_url: str, migrated_template: Path) -> AsyncIterator[Database]:
    """A migrated database on each backend (closed after the test): SQLite's file starts as
    a copy of the session's migrated template (``database_url`` alone starts empty)."""
    if database_url.startswith("sqlite"):
        shutil.copyfile(migrated_template, database_url.removeprefix(SQLITE))
    database = with_feature_tables(Database(database_url))
    await database.migrate()
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def redis_client() -> AsyncIterator[object]:
    client = await fresh_redis()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def camellia_kb() -> Path:
    if not SHARED_KB.is_dir():
        pytest.skip(f"shared knowledge base not found at {SHARED_KB}")
    return SHARED_KB


# -- markers: `pytest -m "not slow and not pg and not redis and not browser"` is the fast
# local subset (README "Contributing"); .ci/run runs everything ---------------------------

#: a parameter naming a backend decides for the variant (sqlite and memory need no service)
BACKEND_PARAMS = {"postgresql": "pg", "redis": "redis", "sqlite": None, "memory": None}
#: words in a test's code (or its fixtures') that mean it needs the service (its own
#: server process too: fault_support's OwnRedis, OwnPostgres)
SERVICE_WORDS = {
    "pg": re.compile(r"\b(reset_postgres|PG_URL|pg_url|OwnPostgres\w*)\b"),
    "redis": re.compile(r"\b(fresh_redis|REDIS_URL|redis_client|OwnRedis)\b"),
    "browser": re.compile(r"\b(launch|needs_chromium|playwright)\b"),
}
#: a test allowed five minutes or more is slow
SLOW_TIMEOUT = 300


def _source(function: object, cache: dict[object, str]) -> str:
    if function is None:
        return ""
    if function not in cache:
        try:
            cache[function] = inspect.getsource(function)  # type: ignore[arg-type]
        except (OSError, TypeError):
            cache[function] = ""
    return cache[function]


def _services(item: pytest.Item, cache: dict[object, str]) -> set[str]:
    """The services a test needs: a backend parameter (``postgresql``, ``redis``…) decides
    for the code it parametrizes; other fixtures' code and the test's own decide the rest."""
    callspec = getattr(item, "callspec", None)
    params = list(callspec.params.values()) if callspec is not None else []
    backends = {value for value in params if isinstance(value, str) and value in BACKEND_PARAMS}
    info = getattr(item, "_fixtureinfo", None)
    fixtures = [d for defs in info.name2fixturedefs.values() for d in defs] if info else []
    plain = "\n".join(
        _source(d.func, cache)
        for d in fixtures
        if not (d.params and any(p in BACKEND_PARAMS for p in d.params if isinstance(p, str)))
    )
    own = _source(getattr(item, "function", None), cache)
    found = {marker for marker, words in SERVICE_WORDS.items() if words.search(plain)}
    own_found = {marker for marker, words in SERVICE_WORDS.items() if words.search(own)}
    if backends:  # the test's own code may name every backend; the variant's decides
        own_found -= {"pg", "redis"}
    found |= own_found
    found |= {marker for b in backends if (marker := BACKEND_PARAMS[b])}
    timeout = item.get_closest_marker("timeout")
    if timeout is not None and timeout.args and float(timeout.args[0]) >= SLOW_TIMEOUT:
        found.add("slow")
    return found


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by the services they use (fixtures, parameters, code) and by their timeout;
    mark the group a test shares a worker with (tests/xdist_groups.py). A slow test runs
    processes: its module must be in a group."""
    del config
    cache: dict[object, str] = {}
    for item in items:
        found = _services(item, cache)
        for marker in sorted(found):
            item.add_marker(marker)
        group = group_of(item.nodeid)
        if "slow" in found and group is None:
            raise pytest.UsageError(f"{item.nodeid} is slow: add its module to xdist_groups.GROUPS")
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(
    config: pytest.Config, log: Producer
) -> ModuleGroupScheduling | None:
    """``--dist loadgroup`` that keeps the groups (tests/xdist_groups.py)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    return ModuleGroupScheduling(config, log)
