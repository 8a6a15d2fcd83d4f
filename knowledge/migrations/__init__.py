"""The knowledge feature's revisions of the core chain: alembic loads them by path."""
