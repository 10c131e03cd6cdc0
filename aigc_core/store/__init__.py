"""The store: SQLAlchemy 2 over SQLite (WAL) by default or any URL, schema managed by Alembic."""

from aigc_core.store.db import get_engine, init_store, session_scope
from aigc_core.store.models import (
    Alert,
    AlertRule,
    AuditEvent,
    Base,
    BrandKit,
    Dataset,
    DatasetVersion,
    Generation,
    Job,
    ModelVersion,
    Monitor,
    SentimentScore,
    User,
)

__all__ = [
    "Alert",
    "AlertRule",
    "AuditEvent",
    "Base",
    "BrandKit",
    "Dataset",
    "DatasetVersion",
    "Generation",
    "Job",
    "ModelVersion",
    "Monitor",
    "SentimentScore",
    "User",
    "get_engine",
    "init_store",
    "session_scope",
]
