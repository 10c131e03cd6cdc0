"""Tables of the store. Metadata only: blobs live under the data dir and rows hold their paths.

Every table has a ``meta`` JSON column for small extra fields, so a feature can add one
without a migration; anything queried or indexed gets a real column and a migration.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, overload

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """Timezone-aware now in UTC."""
    return datetime.now(UTC)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
@overload
def as_utc(value: datetime | None) -> datetime | None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime (SQLite hands back naive ones, which are UTC); an aware one is kept
    as it is and None stays None. The one helper for this convention: use it rather than a private copy."""
    return None if value is None else (value if value.tzinfo else value.replace(tzinfo=UTC))


def new_id() -> str:
    """A short random id."""
    return uuid.uuid4().hex[:16]


class Base(DeclarativeBase):
    """Declarative base of all tables."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: DateTime(timezone=True),
    }


class Dataset(Base):
    """A named dataset; its content lives in immutable versions."""

    __tablename__ = "datasets"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(200), default="", index=True)  # user name ('' before sign-in)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)  # visible to the whole team
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class DatasetVersion(Base):
    """One immutable version of a dataset (Parquet files under the data dir)."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("dataset_versions.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(20), default="clean")  # original | clean | split | synthetic
    path: Mapped[str] = mapped_column(Text)
    schema: Mapped[dict[str, Any]] = mapped_column(default=dict)
    roles: Mapped[dict[str, Any]] = mapped_column(default=dict)
    row_counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    recipe: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Job(Base):
    """A background job and its live status."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_created", "status", "created_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    owner: Mapped[str] = mapped_column(String(200), default="", index=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    resource: Mapped[str] = mapped_column(String(32), default="cpu")  # cpu | gpu:<device>
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    eta_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(nullable=True)
    worker_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    worker_host: Mapped[str] = mapped_column(String(200), default="")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    log_path: Mapped[str] = mapped_column(Text, default="")
    resumed_from: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"), nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ModelVersion(Base):
    """A model produced by fine-tuning (or registered from a folder), with its lineage."""

    __tablename__ = "model_versions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    task: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(200), default="", index=True)  # user name ('' before sign-in)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)  # visible to the whole team
    base_model: Mapped[str] = mapped_column(Text, default="")
    path: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dataset_version_id: Mapped[str | None] = mapped_column(ForeignKey("dataset_versions.id"), nullable=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("model_versions.id"), nullable=True)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"), nullable=True)
    promoted: Mapped[bool] = mapped_column(Boolean, default=False)
    promoted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Generation(Base):
    """One generation request and its outputs (ad copy variants or images)."""

    __tablename__ = "generations"
    __table_args__ = (Index("ix_generations_kind_created", "kind", "created_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))  # copy | image
    owner: Mapped[str] = mapped_column(String(200), default="", index=True)  # user name ('' before sign-in)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)  # visible to the whole team
    model: Mapped[str] = mapped_column(Text, default="")
    model_revision: Mapped[str] = mapped_column(String(64), default="")
    prompt: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outputs: Mapped[list[Any]] = mapped_column(default=list)
    path: Mapped[str] = mapped_column(Text, default="")
    seed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    favourite: Mapped[bool] = mapped_column(Boolean, default=False)
    rating: Mapped[int] = mapped_column(Integer, default=0)  # -1, 0, +1
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class BrandKit(Base):
    """Voice, banned words, required phrases and competitors that copy and prompts are checked against."""

    __tablename__ = "brand_kits"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    owner: Mapped[str] = mapped_column(String(200), default="", index=True)  # user name ('' before sign-in)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)  # visible to the whole team
    voice: Mapped[str] = mapped_column(Text, default="")
    banned: Mapped[list[Any]] = mapped_column(default=list)
    required: Mapped[dict[str, Any]] = mapped_column(default=dict)
    competitors: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Monitor(Base):
    """A sentiment monitor: a stream of texts with a column mapping and a model."""

    __tablename__ = "monitors"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    owner: Mapped[str] = mapped_column(String(200), default="", index=True)  # user name ('' before sign-in)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)  # visible to the whole team
    dataset_version_id: Mapped[str | None] = mapped_column(ForeignKey("dataset_versions.id"), nullable=True)
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    model: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class LabelCorrection(Base):
    """An analyst's corrected label of one text of a monitor (one per row; a new correction replaces it)."""

    __tablename__ = "label_corrections"
    __table_args__ = (UniqueConstraint("monitor_id", "row_id"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    monitor_id: Mapped[str] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"), index=True)
    row_id: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text, default="")
    model_label: Mapped[str] = mapped_column(String(64), default="")  # what the model said
    label: Mapped[str] = mapped_column(String(64))  # what the analyst says
    model_version: Mapped[str] = mapped_column(String(200), default="")
    owner: Mapped[str] = mapped_column(String(200), default="", index=True)  # who corrected it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SentimentScore(Base):
    """Cached sentiment of one text under one model version."""

    __tablename__ = "sentiment_scores"
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(200), primary_key=True)
    label: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    probs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertRule(Base):
    """A rule evaluated after every scoring run of a monitor."""

    __tablename__ = "alert_rules"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    monitor_id: Mapped[str] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"), index=True)
    owner: Mapped[str] = mapped_column(String(200), default="", index=True)
    topic: Mapped[str | None] = mapped_column(String(200), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))  # share_negative | zscore | net_drop
    threshold: Mapped[float] = mapped_column(Float)
    window: Mapped[str] = mapped_column(String(16), default="1D")
    min_volume: Mapped[int] = mapped_column(Integer, default=20)
    cooldown_s: Mapped[int] = mapped_column(Integer, default=3600)
    webhook_url: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Alert(Base):
    """A fired alert with its window, evidence and webhook delivery state."""

    __tablename__ = "alerts"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    rule_id: Mapped[str] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"), index=True)
    monitor_id: Mapped[str] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"), index=True)
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
    window_start: Mapped[datetime | None] = mapped_column(nullable=True)
    window_end: Mapped[datetime | None] = mapped_column(nullable=True)
    value: Mapped[float] = mapped_column(Float, default=0.0)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    webhook_status: Mapped[str] = mapped_column(String(16), default="none")  # none | sent | failed
    webhook_error: Mapped[str] = mapped_column(Text, default="")
    webhook_attempts: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class User(Base):
    """A person who signs in: a password hash (Argon2) or a single sign-on identity, and a role."""

    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    email: Mapped[str] = mapped_column(String(320), default="", index=True)
    role: Mapped[str] = mapped_column(String(16), default="viewer")  # admin | editor | viewer
    password_hash: Mapped[str] = mapped_column(Text, default="")  # '' for single sign-on users
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AuditEvent(Base):
    """Who did what, when, to which object (deletes, cancels, promotions, roles, settings, sign-ins)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_kind: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[str] = mapped_column(String(200), default="")
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CopyFeedback(Base):
    """One feedback event on an ad copy variant (used, 👍, 👎, an edit), with the brief's brand kit and model."""

    __tablename__ = "copy_feedback"
    __table_args__ = (Index("ix_copy_feedback_generation_variant", "generation_id", "variant"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    generation_id: Mapped[str] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"))
    variant: Mapped[int] = mapped_column(Integer)  # index into the generation's outputs
    owner: Mapped[str] = mapped_column(String(200), default="", index=True)  # who gave the feedback
    action: Mapped[str] = mapped_column(String(16))  # used | unused | up | down | unrated | edit
    text: Mapped[str] = mapped_column(Text, default="")  # the edited text (edit), else ''
    brand_kit: Mapped[str] = mapped_column(String(200), default="", index=True)
    model: Mapped[str] = mapped_column(Text, default="")
    model_revision: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class BlindComparison(Base):
    """Two model versions answering the same briefs, picked blind; the tally and its Wilson interval."""

    __tablename__ = "blind_comparisons"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), default="")
    owner: Mapped[str] = mapped_column(String(200), default="", index=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    model_a: Mapped[str] = mapped_column(Text)
    model_b: Mapped[str] = mapped_column(Text)
    items: Mapped[list[Any]] = mapped_column(default=list)  # brief, both texts, which side shows A, the pick
    wins_a: Mapped[int] = mapped_column(Integer, default=0)
    wins_b: Mapped[int] = mapped_column(Integer, default=0)
    ties: Mapped[int] = mapped_column(Integer, default=0)
    win_rate_a: Mapped[float | None] = mapped_column(Float, nullable=True)
    ci_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    ci_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SupportKnowledgeBase(Base):
    """A customer-service knowledge base; its content lives in immutable, versioned indexes."""

    __tablename__ = "support_knowledge_bases"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(200), default="", index=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SupportKbVersion(Base):
    """One version of a knowledge base: its source files and hybrid index under the data dir."""

    __tablename__ = "support_kb_versions"
    __table_args__ = (UniqueConstraint("kb_id", "version"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kb_id: Mapped[str] = mapped_column(ForeignKey("support_knowledge_bases.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="indexing")  # indexing | ready | failed
    path: Mapped[str] = mapped_column(Text)
    sources: Mapped[list[Any]] = mapped_column(default=list)
    n_chunks: Mapped[int] = mapped_column(Integer, default=0)
    embedding_model: Mapped[str] = mapped_column(Text, default="")
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"), nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SupportReply(Base):
    """A drafted ticket reply with everything needed to audit and reproduce it."""

    __tablename__ = "support_replies"
    __table_args__ = (Index("ix_support_replies_created", "created_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kb_version_id: Mapped[str | None] = mapped_column(
        ForeignKey("support_kb_versions.id", ondelete="SET NULL"), nullable=True, index=True
    )
    owner: Mapped[str] = mapped_column(String(200), default="", index=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    ticket: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reply: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="drafted")  # drafted | review | handoff | edited
    flags: Mapped[list[Any]] = mapped_column(default=list)
    passages: Mapped[list[Any]] = mapped_column(default=list)
    sentiment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    model: Mapped[str] = mapped_column(Text, default="")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
