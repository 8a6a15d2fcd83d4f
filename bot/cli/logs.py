"""Logging for the command line: Warmline's loggers at ``logging.level``, every other
library at ``logging.libraries`` (WARNING unless asked).

A level on the root logger is not enough: some libraries set their own logger to
DEBUG on import (bm25s does), so the handler itself filters by logger name.
"""

from __future__ import annotations

import logging
import sys

#: Warmline's own loggers are ``warmline`` and ``warmline.*``
OWN_LOGGER = "warmline"


class LibraryQuieter(logging.Filter):
    """Passes Warmline's records from ``own_level`` up and others from ``library_level`` up."""

    def __init__(self, own_level: int, library_level: int) -> None:
        super().__init__()
        self.own_level = own_level
        self.library_level = library_level

    def filter(self, record: logging.LogRecord) -> bool:
        own = record.name == OWN_LOGGER or record.name.startswith(OWN_LOGGER + ".")
        return record.levelno >= (self.own_level if own else self.library_level)


class _CliHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler this module installed, so a second call replaces it."""


def setup_logging(own_level: str | int, library_level: str | int, fmt: str) -> None:
    """Send log records to stderr; replaces a handler installed here before."""
    own = logging.getLevelName(own_level) if isinstance(own_level, str) else own_level
    library = (
        logging.getLevelName(library_level) if isinstance(library_level, str) else library_level
    )
    handler = _CliHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt))
    handler.addFilter(LibraryQuieter(own, library))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _CliHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(min(own, library))
