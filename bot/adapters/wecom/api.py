"""The WeCom server API: one client that owns the access tokens.

Every call carries ``?access_token=``; tokens are cached per secret (the app,
customer contact and kf may use different secrets) until shortly before they
expire. An expired or invalid token (40014, 42001, 42009) is fetched anew and
the call retried once; the frequency limit (45009) surfaces as
:class:`RateLimited` so the one owner of rate limits can hold every send.
``api_base`` applies to every call, ``gettoken`` included, so tests and
private deployments can point the adapter anywhere.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp

from bot.errors import DeliveryError, RateLimited, RecipientUnreachable, TransientError

Json = dict[str, Any]

#: errcodes meaning "this access token is no good": fetch a new one, retry once
TOKEN_ERRORS = frozenset({40014, 42001, 42009})
#: WeCom's frequency limit (per minute): the platform's 429
FREQUENCY_LIMIT = 45009
#: kf: the customer's 48-hour / 5-message window is closed
KF_WINDOW_CLOSED = 95018
#: the customer is not (or no longer) reachable this way
UNREACHABLE = frozenset({84061, 40096, 95016})
#: a token is refreshed this many seconds before WeCom says it expires
TOKEN_MARGIN = 300.0


class Family(StrEnum):
    """Which secret a call's token comes from."""

    APP = "app"
    CONTACT = "contact"
    KF = "kf"


class WeComError(DeliveryError):
    """WeCom answered with a non-zero ``errcode``."""

    def __init__(self, path: str, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeCom {path}: errcode {errcode} ({errmsg})")
        self.path = path
        self.errcode = errcode


class KfWindowClosed(WeComError):
    """kf refused a message outside the customer's 48-h / 5-message window."""


@dataclass(frozen=True, slots=True)
class Secrets:
    """The app's secret and optional per-family overrides."""

    app: str
    contact: str | None = None
    kf: str | None = None

    def of(self, family: Family) -> str:
        if family is Family.CONTACT and self.contact:
            return self.contact
        if family is Family.KF and self.kf:
            return self.kf
        return self.app


@dataclass(slots=True)
class _Token:
    value: str
    expires_at: float


class WeComApi:
    """Async client for the calls the adapter makes; raises :mod:`bot.errors`."""

    def __init__(
        self,
        *,
        api_base: str,
        corp_id: str,
        secrets: Secrets,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
        frequency_backoff: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.corp_id = corp_id
        self.secrets = secrets
        self.frequency_backoff = frequency_backoff
        self._session = session
        self._own_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._tokens: dict[str, _Token] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def call(self, family: Family, path: str, payload: Json | None = None) -> Json:
        """POST ``payload`` (GET when None) to ``/cgi-bin/<path>``; the answer on errcode 0."""
        for attempt in range(2):
            token = await self._token(family)
            answer = await self._request(path, payload, {"access_token": token})
            errcode = _errcode(answer)
            if errcode in TOKEN_ERRORS and attempt == 0:
                self._forget(family, token)
                continue
            return self._checked(path, answer)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _token(self, family: Family) -> str:
        secret = self.secrets.of(family)
        lock = self._locks.setdefault(secret, asyncio.Lock())
        async with lock:
            held = self._tokens.get(secret)
            if held is not None and held.expires_at > self._clock():
                return held.value
            answer = self._checked(
                "gettoken",
                await self._request(
                    "gettoken", None, {"corpid": self.corp_id, "corpsecret": secret}
                ),
            )
            value = answer.get("access_token")
            if not isinstance(value, str) or not value:
                raise TransientError("WeCom gettoken: no access_token in the answer")
            expires_in = float(answer.get("expires_in") or 7200)
            lifetime = max(1.0, expires_in - min(TOKEN_MARGIN, expires_in / 2))
            self._tokens[secret] = _Token(value, self._clock() + lifetime)
            return value

    def _forget(self, family: Family, token: str) -> None:
        secret = self.secrets.of(family)
        held = self._tokens.get(secret)
        if held is not None and held.value == token:
            del self._tokens[secret]

    async def _request(self, path: str, payload: Json | None, query: dict[str, str]) -> Json:
        url = f"{self.api_base}/cgi-bin/{path}"
        try:
            if payload is None:
                response = self._http().get(url, params=query, timeout=self._timeout)
            else:
                response = self._http().post(url, params=query, json=payload, timeout=self._timeout)
            async with response as reply:
                if reply.status >= 500:
                    raise TransientError(f"WeCom {path}: HTTP {reply.status}")
                if reply.status != 200:
                    raise DeliveryError(f"WeCom {path}: HTTP {reply.status}")
                body = await reply.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise TransientError(f"WeCom {path}: {type(exc).__name__}: {exc}") from exc
        if not isinstance(body, dict):
            raise TransientError(f"WeCom {path}: answer is not a JSON object")
        return body

    def _checked(self, path: str, answer: Json) -> Json:
        errcode = _errcode(answer)
        if errcode == 0:
            return answer
        errmsg = str(answer.get("errmsg", ""))
        if errcode == FREQUENCY_LIMIT:
            raise RateLimited(self.frequency_backoff, f"WeCom {path}: frequency limit ({errmsg})")
        if errcode == KF_WINDOW_CLOSED:
            raise KfWindowClosed(path, errcode, errmsg)
        if errcode in UNREACHABLE:
            raise RecipientUnreachable(f"WeCom {path}: errcode {errcode} ({errmsg})")
        if errcode == -1:  # "system busy"
            raise TransientError(f"WeCom {path}: system busy ({errmsg})")
        raise WeComError(path, errcode, errmsg)


def _errcode(answer: Json) -> int:
    try:
        return int(answer.get("errcode", 0))
    except (TypeError, ValueError):
        return -1
