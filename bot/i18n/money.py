"""Amounts as people read them: always with the shop's currency, in their language."""

from __future__ import annotations

from babel.numbers import format_currency


def money(amount: float, currency: str, lang: str = "en") -> str:
    """``CN¥39.90`` for an English reader, ``¥39.90`` for a Chinese one (CLDR's way)."""
    return str(format_currency(amount, currency, locale=lang))
