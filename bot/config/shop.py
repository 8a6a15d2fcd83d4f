"""``shop:`` — facts about the shop itself that every feature shows to people."""

from __future__ import annotations

from babel.numbers import list_currencies
from pydantic import field_validator

from bot.config.section import Section


class ShopConfig(Section):
    #: ISO 4217 code of the shop's money; every amount people read carries it
    currency: str = "CNY"

    @field_validator("currency")
    @classmethod
    def _iso_code(cls, value: str) -> str:
        code = value.strip().upper()
        if code not in list_currencies():
            raise ValueError(
                f"must be an ISO 4217 currency code like CNY, USD or EUR (got {value!r})"
            )
        return code
