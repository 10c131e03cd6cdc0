"""Looking a row up by id or else by name: the one helper for tables whose items users may name either way
(brand kits, monitors)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from aigc_core.store.models import Base

T = TypeVar("T", bound=Base)


def get_by_id_or_name(
    session: Session, model: type[T], key: str, *, owner_filter: ColumnElement[bool] | None = None
) -> T | None:
    """The ``model`` row whose primary key is ``key``, else the first whose ``name`` is ``key``; None when there
    is neither. ``owner_filter`` (e.g. ``visible_filter(...)``) restricts both looks to the rows it matches.

    Callers keep their own permission checks and NotFoundError messages."""
    table: Any = model  # ``id`` and ``name`` columns: not declared on Base
    if owner_filter is None:
        row = session.get(model, key)
    else:
        row = session.scalars(select(model).where(table.id == key, owner_filter)).first()
    if row is not None:
        return row
    q = select(model).where(table.name == key)
    if owner_filter is not None:
        q = q.where(owner_filter)
    return session.scalars(q).first()
