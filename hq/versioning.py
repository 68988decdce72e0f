"""The catalog's version counter (docs/sync-protocol.md §5).

Every change to products, categories, store prices or settings takes the next version from the one
``catalog_state`` row, inside the transaction that makes the change: ``UPDATE ... SET version =
version + 1`` first, then read it back. On PostgreSQL the update locks the row until the transaction
ends, so writers queue on it and versions commit in the order they were taken; a kiosk that has seen
version N and asks for rows above N can never miss one that commits later with a smaller number.
(SQLite write transactions are serial anyway.)
"""

from __future__ import annotations

from hq.models import CatalogState, database


def next_version() -> int:
    """Take the next catalog version; call inside the transaction that writes the rows it stamps."""
    if not database.in_transaction():
        raise RuntimeError("next_version() must run inside the transaction that makes the change")
    updated = CatalogState.update(version=CatalogState.version + 1).where(CatalogState.id == 1).execute()
    if not updated:
        CatalogState.insert(id=1, version=1).execute()
        return 1
    return int(CatalogState.select(CatalogState.version).where(CatalogState.id == 1).scalar())


def current_version() -> int:
    """The version of the last committed change (0 for a catalog that never changed)."""
    value = CatalogState.select(CatalogState.version).where(CatalogState.id == 1).scalar()
    return int(value or 0)
