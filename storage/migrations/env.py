"""Alembic environment: always run with a connection handed in by
:meth:`storage.database.Database.migrate` (async engines, one code path)."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context

from storage.models import metadata
from storage.types import UtcDateTime


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render our portable UTC type as a plain column type in revisions."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - guarded by the CLI
    raise RuntimeError("run migrations with `warmline db upgrade`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=_render_item,
)
with context.begin_transaction():
    context.run_migrations()
