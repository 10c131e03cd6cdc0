"""The store: SQLAlchemy 2 over SQLite (WAL) by default or any URL, schema managed by Alembic."""

from aigc_core.store.db import get_engine, init_store, session_scope
from aigc_core.store.models import (
    Alert,
    AlertRule,
    Base,
    BrandKit,
    Dataset,
    DatasetVersion,
    Generation,
    Job,
    ModelVersion,
    Monitor,
    SentimentScore,
)

__all__ = [
    "Alert",
    "AlertRule",
    "Base",
    "BrandKit",
    "Dataset",
    "DatasetVersion",
    "Generation",
    "Job",
    "ModelVersion",
    "Monitor",
    "SentimentScore",
    "get_engine",
    "init_store",
    "session_scope",
]
