"""The ``bot.wecom`` section tests give the App to talk to the fake WeCom server."""

from __future__ import annotations

from typing import Any

from fake_wecom_api import AGENT_ID, OPEN_KFID, SECRET, FakeWeCom
from wecom_envelope import AES_KEY, CORP_ID, TOKEN


def wecom_section(fake: FakeWeCom, **extra: Any) -> dict[str, Any]:
    """Credentials the fake accepts, its URL as ``api_base``, plus ``extra`` keys."""
    return {
        "corp_id": CORP_ID,
        "secret": SECRET,
        "agent_id": AGENT_ID,
        "token": TOKEN,
        "encoding_aes_key": AES_KEY,
        "open_kfid": OPEN_KFID,
        "api_base": fake.base_url,
        **extra,
    }
