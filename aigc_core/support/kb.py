"""Knowledge bases in the store: owned (``actor=``), shared with the team or private, and versioned like datasets.

A version holds its source files and its hybrid index under ``<data_dir>/support/<kb id>/v<N>/``; adding or
removing sources (re-indexing) makes a new version, and every reply records the version it was drafted from.
:func:`add_version` validates and chunks every file before anything is written; the index (BM25 + vectors) is
then built inline or by the ``support.index`` background job (:mod:`aigc_core.support.jobs`)."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from aigc_core.errors import ConflictError, NotFoundError, UserInputError
from aigc_core.storage import atomic_dir, data_path, safe_name
from aigc_core.store import session_scope
from aigc_core.store.models import SupportKbVersion, SupportKnowledgeBase, as_utc
from aigc_core.support.chunking import MAX_CHARS, Chunk, chunk_source
from aigc_core.support.index import Embedder, HybridIndex, Mode, SearchResult, kb_encoder, model_embedder
from aigc_core.support.sources import Source, read_source
from aigc_core.users.audit import record
from aigc_core.users.roles import Action, Actor, check_item, current, owned_row, require, share_row, visible_filter

STATUSES = ("indexing", "ready", "failed")
MAX_FILES = 200
_INDEX_CACHE_SIZE = 4


@dataclass
class SourceFile:
    """A file to add to a knowledge base, with how to read it."""

    name: str
    data: bytes
    kind: str = "auto"  # auto | faq | tickets | document
    question_column: str | None = None
    answer_column: str | None = None


@dataclass
class KbInfo:
    """A knowledge base and its latest versions."""

    id: str
    name: str
    description: str
    owner: str
    shared: bool
    created_at: datetime
    n_versions: int = 0
    latest_version_id: str | None = None
    latest_ready_id: str | None = None


@dataclass
class KbVersionInfo:
    """One version of a knowledge base."""

    id: str
    kb_id: str
    kb_name: str
    version: int
    status: str
    path: Path
    sources: list[dict[str, Any]]
    n_chunks: int
    embedding_model: str
    job_id: str | None
    error: str
    created_at: datetime
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """ "name · vN (status, passages)" for pickers."""
        return f"{self.kb_name} · v{self.version} ({self.status}, {self.n_chunks:,} passages)"

    @property
    def index_dir(self) -> Path:
        """The folder of the built index."""
        return self.path / "index"


def _kb_info(row: SupportKnowledgeBase, versions: list[SupportKbVersion] | None = None) -> KbInfo:
    versions = sorted(versions or [], key=lambda v: -v.version)
    ready = [v for v in versions if v.status == "ready"]
    return KbInfo(
        row.id,
        row.name,
        row.description or "",
        row.owner or "",
        bool(row.shared),
        as_utc(row.created_at),
        len(versions),
        versions[0].id if versions else None,
        ready[0].id if ready else None,
    )


def _version_info(row: SupportKbVersion, name: str) -> KbVersionInfo:
    return KbVersionInfo(
        row.id,
        row.kb_id,
        name,
        row.version,
        row.status,
        Path(row.path),
        list(row.sources or []),
        int(row.n_chunks or 0),
        row.embedding_model or "",
        row.job_id,
        row.error or "",
        as_utc(row.created_at),
        dict(row.meta or {}),
    )


def _missing(kb_id: str) -> NotFoundError:
    return NotFoundError(f"Knowledge base {kb_id!r} does not exist.", hint="Pick one from the list.")


def _kb_row(s: Any, kb_id: str, action: Action, actor: Actor | None) -> SupportKnowledgeBase:
    return owned_row(s, SupportKnowledgeBase, kb_id, action, actor, kind="knowledge_base", not_found=_missing(kb_id))


def _version_row(s: Any, version_id: str) -> SupportKbVersion:
    """The version's row, to update it (NotFoundError when it was deleted meanwhile)."""
    row = s.get(SupportKbVersion, version_id)
    if row is None:
        raise NotFoundError(f"Knowledge base version {version_id!r} does not exist.", hint="Pick one from the list.")
    return row


# ------------------------------------------------------------------------------------------------
# Knowledge bases
# ------------------------------------------------------------------------------------------------
def create_kb(name: str, description: str = "", *, actor: Actor | None = None) -> KbInfo:
    """A new, empty knowledge base owned by the acting user (private until shared); names are unique."""
    who = require(actor, "create", what="knowledge bases")
    name = " ".join((name or "").split())
    if not name:
        raise UserInputError("The knowledge base needs a name.", hint="Type a short name, e.g. 'Help centre'.")
    if len(name) > 200:
        raise UserInputError("The knowledge base name is too long.", hint="Use at most 200 characters.")
    with session_scope() as s:
        if s.scalar(select(SupportKnowledgeBase).where(SupportKnowledgeBase.name == name)) is not None:
            raise ConflictError(f"A knowledge base named {name!r} already exists.", hint="Pick another name.")
        row = SupportKnowledgeBase(name=name, description=description or "", owner=who.name)
        s.add(row)
        s.flush()
        info = _kb_info(row)
    record(who, "knowledge_base.create", "knowledge_base", info.id, detail={"name": name})
    return info


def list_kbs(*, actor: Actor | None = None) -> list[KbInfo]:
    """The acting user's knowledge bases and shared ones (admins: all), newest first."""
    who = current(actor)
    with session_scope() as s:
        q = select(SupportKnowledgeBase).where(
            visible_filter(who, SupportKnowledgeBase.owner, SupportKnowledgeBase.shared)
        )
        out = []
        for row in s.scalars(q.order_by(SupportKnowledgeBase.created_at.desc())):
            versions = list(s.scalars(select(SupportKbVersion).where(SupportKbVersion.kb_id == row.id)))
            out.append(_kb_info(row, versions))
        return out


def get_kb(kb_id: str, *, actor: Actor | None = None) -> KbInfo:
    """One knowledge base the acting user may see."""
    with session_scope() as s:
        row = _kb_row(s, kb_id, "read", actor)
        versions = list(s.scalars(select(SupportKbVersion).where(SupportKbVersion.kb_id == kb_id)))
        return _kb_info(row, versions)


def set_kb_shared(kb_id: str, shared: bool = True, *, actor: Actor | None = None) -> KbInfo:
    """Share a knowledge base with the team, or make it private again (its owner or an admin)."""
    share_row(
        SupportKnowledgeBase, kb_id, shared, actor, kind="knowledge_base", not_found=_missing(kb_id),
        to_info=lambda r: r.id,
    )  # fmt: skip
    return get_kb(kb_id, actor=actor)


def delete_kb(kb_id: str, *, actor: Actor | None = None) -> None:
    """Delete a knowledge base with all its versions and files (its owner or an admin); stored replies keep
    their passages but lose the link to the deleted version."""
    with session_scope() as s:
        row = _kb_row(s, kb_id, "change", actor)
        name = row.name
        s.delete(row)
    shutil.rmtree(data_path("support", kb_id, "x").parent, ignore_errors=True)
    _evict(kb_id)
    record(current(actor), "knowledge_base.delete", "knowledge_base", kb_id, detail={"name": name})


# ------------------------------------------------------------------------------------------------
# Versions
# ------------------------------------------------------------------------------------------------
def list_versions(kb_id: str, *, actor: Actor | None = None) -> list[KbVersionInfo]:
    """Versions of one knowledge base, newest first."""
    with session_scope() as s:
        kb = _kb_row(s, kb_id, "read", actor)
        q = select(SupportKbVersion).where(SupportKbVersion.kb_id == kb_id).order_by(SupportKbVersion.version.desc())
        return [_version_info(v, kb.name) for v in s.scalars(q)]


def get_version(version_id: str, *, actor: Actor | None = None) -> KbVersionInfo:
    """One version of a knowledge base the acting user may see."""
    missing = NotFoundError(f"Knowledge base version {version_id!r} does not exist.", hint="Pick one from the list.")
    with session_scope() as s:
        row = s.get(SupportKbVersion, version_id)
        if row is None:
            raise missing
        kb = s.get(SupportKnowledgeBase, row.kb_id)
        if kb is None:
            raise missing
        check_item(
            actor, "read", owner=kb.owner or "", shared=bool(kb.shared), kind="knowledge_base_version",
            item_id=version_id, not_found=missing,
        )  # fmt: skip
        return _version_info(row, kb.name)


def ready_version(kb_id: str, *, actor: Actor | None = None) -> KbVersionInfo:
    """The newest version of ``kb_id`` whose index is built."""
    for v in list_versions(kb_id, actor=actor):
        if v.status == "ready":
            return v
    raise NotFoundError(
        "This knowledge base has no built index yet.", hint="Add sources and wait for the index job to finish."
    )


def source_from_dataset(
    version_id: str,
    *,
    kind: str = "faq",
    question_column: str | None = None,
    answer_column: str | None = None,
    actor: Actor | None = None,
) -> SourceFile:
    """A dataset version (one the acting user may read) as an FAQ or tickets table to add to a knowledge base."""
    from aigc_core.data import versions

    info = versions.get_version(version_id, actor=actor)
    data = versions.export_version(version_id, "csv")
    name = safe_name(f"{info.dataset_name}-v{info.version}.csv")
    return SourceFile(name, data, kind, question_column, answer_column)


def parse_files(files: list[SourceFile], max_chars: int = MAX_CHARS) -> tuple[list[Source], list[Chunk]]:
    """Read and chunk every file; the first bad file raises (nothing is written)."""
    if not files:
        raise UserInputError("No files were given.", hint="Upload an FAQ table, past tickets or documents.")
    if len(files) > MAX_FILES:
        raise UserInputError(f"{len(files)} files at once is too many.", hint=f"Add at most {MAX_FILES} at a time.")
    names = [safe_name(f.name) for f in files]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UserInputError(f"Two files are named {dupes[0]!r}.", hint="Rename one of them.")
    sources: list[Source] = []
    chunks: list[Chunk] = []
    for f, name in zip(files, names, strict=True):
        src = read_source(f.data, name, f.kind, question_column=f.question_column, answer_column=f.answer_column)
        sources.append(src)
        chunks.extend(chunk_source(src, max_chars))
    return sources, chunks


def _reserve_version(
    kb_id: str,
    source_meta: list[dict[str, Any]],
    n_chunks: int,
    model_value: str | None,
    carried: list[SourceFile],
    files: list[SourceFile],
    actor: Actor | None,
) -> tuple[str, int, Path]:
    """Commit the next version's row (status indexing); its id, number and folder (unique per knowledge base)."""
    with session_scope() as s:
        _kb_row(s, kb_id, "change", actor)
        last = s.scalar(select(func.max(SupportKbVersion.version)).where(SupportKbVersion.kb_id == kb_id))
        number = int(last or 0) + 1
        target = data_path("support", kb_id, f"v{number}", "x").parent
        row = SupportKbVersion(
            kb_id=kb_id, version=number, status="indexing", path=str(target), sources=source_meta,
            n_chunks=n_chunks, embedding_model=model_value or "",
            meta={"carried": [f.name for f in carried], "added": [safe_name(f.name) for f in files]},
        )  # fmt: skip
        s.add(row)
        s.flush()
        return row.id, number, target


def add_version(
    kb_id: str,
    files: list[SourceFile],
    *,
    keep: list[str] | None = None,
    build: str = "job",
    embedder: Embedder | None = None,
    embedding_model: str | None = None,
    actor: Actor | None = None,
) -> KbVersionInfo:
    """A new version of ``kb_id`` made of the files of its latest version named in ``keep`` (None: all of them,
    unless replaced by a new file of the same name) plus ``files``; its index is built by a ``support.index`` job
    (``build="job"``), right here (``"inline"``) or later (``"none"``)."""
    if build not in ("job", "inline", "none"):
        raise ValueError(f"unknown build mode {build!r}")
    with session_scope() as s:
        kb = _kb_row(s, kb_id, "change", actor)
        kb_name = kb.name
        last = s.scalars(
            select(SupportKbVersion).where(SupportKbVersion.kb_id == kb_id).order_by(SupportKbVersion.version.desc())
        ).first()
        previous = (Path(last.path), list(last.sources or [])) if last is not None else None
    new_names = {safe_name(f.name) for f in files}
    carried: list[SourceFile] = []
    if previous is not None:
        folder, prev_sources = previous
        for meta in prev_sources:
            if meta["name"] in new_names or (keep is not None and meta["name"] not in keep):
                continue
            path = folder / "sources" / meta["name"]
            if not path.exists():
                raise NotFoundError(
                    f"The file {meta['name']!r} of the previous version is missing from the data dir.",
                    hint="Upload it again, or leave it out of the new version.",
                )
            carried.append(SourceFile(meta["name"], path.read_bytes(), meta.get("read_as", "auto"),
                                      meta.get("question_column"), meta.get("answer_column")))  # fmt: skip
    all_files = carried + list(files)
    sources, chunks = parse_files(all_files)
    source_meta = []
    for f, src in zip(all_files, sources, strict=True):
        n = sum(1 for c in chunks if c.source == src.name)
        source_meta.append({
            "name": src.name, "kind": src.kind, "title": src.title, "n_chunks": n, "n_bytes": src.n_bytes,
            "sha256": hashlib.sha256(f.data).hexdigest(), "read_as": f.kind, "question_column": f.question_column,
            "answer_column": f.answer_column, "warnings": src.warnings,
        })  # fmt: skip
    model_value = embedding_model or ("custom" if embedder is not None else None)
    if embedder is None and build != "none":
        model_value = kb_encoder(embedding_model)
    try:
        version_id, number, target = _reserve_version(kb_id, source_meta, len(chunks), model_value, carried, files,
                                                      actor)  # fmt: skip
    except IntegrityError as exc:
        raise ConflictError("Another version of this knowledge base was saved at the same moment.",
                            hint="Add the files again.") from exc  # fmt: skip
    try:
        with atomic_dir(target) as tmp:
            (tmp / "sources").mkdir()
            for f, src in zip(all_files, sources, strict=True):
                (tmp / "sources" / src.name).write_bytes(f.data)
            with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as fh:
                for c in chunks:
                    fh.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
    except BaseException:
        with session_scope() as s:
            row = s.get(SupportKbVersion, version_id)
            if row is not None:
                s.delete(row)
        raise
    record(current(actor), "knowledge_base.version", "knowledge_base", kb_id,
           detail={"version": number, "files": [m["name"] for m in source_meta]})  # fmt: skip
    if build == "inline":
        return build_index(version_id, embedder=embedder, actor=actor)
    if build == "job":
        from aigc_core import jobs

        job_id = jobs.submit("support.index", {"version_id": version_id}, actor=actor)
        with session_scope() as s:
            _version_row(s, version_id).job_id = job_id
    info = get_version(version_id, actor=actor)
    info.kb_name = kb_name
    return info


def _load_chunks(path: Path) -> list[Chunk]:
    with open(path, encoding="utf-8") as fh:
        return [Chunk.from_dict(json.loads(line)) for line in fh if line.strip()]


def build_index(
    version_id: str,
    *,
    embedder: Embedder | None = None,
    progress: Any = None,
    should_stop: Any = None,
    actor: Actor | None = None,
) -> KbVersionInfo:
    """Build the hybrid index of a version (BM25 + embeddings), save it atomically and mark the version ready
    (failed, with the error, when it raises)."""
    info = get_version(version_id, actor=actor)
    with session_scope() as s:
        _kb_row(s, info.kb_id, "change", actor)
    try:
        chunks = _load_chunks(info.path / "chunks.jsonl")
        emb = embedder or model_embedder(info.embedding_model or None, role="passage", trusted=True)
        index = HybridIndex.build(
            chunks, embedder=emb, embedding_model=info.embedding_model, progress=progress, should_stop=should_stop
        )
        with atomic_dir(info.index_dir) as tmp:
            index.save(tmp)
    except BaseException as exc:
        with session_scope() as s:
            row = _version_row(s, version_id)
            row.status, row.error = "failed", str(exc) or type(exc).__name__
        raise
    with session_scope() as s:
        row = _version_row(s, version_id)
        row.status, row.error = "ready", ""
        row.meta = {**(row.meta or {}), "dim": index.dim}
    return get_version(version_id, actor=actor)


def encoder_note(info: KbVersionInfo) -> str:
    """One line on the encoder a version was indexed with and, for an English-centred one, how to index with the
    multilingual one; "" when nothing was recorded."""
    from aigc_core.models.task_table import get_spec

    def title(value: str) -> str:
        spec = get_spec(value) if value else None
        return spec.title if spec is not None else value

    if not info.embedding_model:
        return ""
    from aigc_core.support.index import KB_ENCODER, MULTILINGUAL_HINTS

    if any(h in info.embedding_model.lower() for h in MULTILINGUAL_HINTS):
        return f"Indexed with {title(info.embedding_model)}."
    return (
        f"Indexed with {title(info.embedding_model)} (English-centred; BM25 with jieba carries Chinese). "
        f"AIGC_SUPPORT_EMBEDDING_MODEL={KB_ENCODER} indexes with {title(KB_ENCODER)} once the relevance gate is "
        "re-tuned for it (bench/support.py --tune)."
    )


def delete_version(version_id: str, *, actor: Actor | None = None) -> None:
    """Delete one version and its files (the owner or an admin)."""
    info = get_version(version_id, actor=actor)
    with session_scope() as s:
        _kb_row(s, info.kb_id, "change", actor)
        row = s.get(SupportKbVersion, version_id)
        if row is not None:
            s.delete(row)
    shutil.rmtree(info.path, ignore_errors=True)
    _evict(info.kb_id)
    record(current(actor), "knowledge_base.version_delete", "knowledge_base", info.kb_id,
           detail={"version": info.version})  # fmt: skip


# ------------------------------------------------------------------------------------------------
# Search
# ------------------------------------------------------------------------------------------------
_cache: OrderedDict[str, HybridIndex] = OrderedDict()
_cache_lock = threading.Lock()


def _evict(kb_id: str) -> None:
    with _cache_lock:
        for key in [k for k in _cache if f"/{kb_id}/" in k.replace("\\", "/")]:
            _cache.pop(key, None)


def load_index(info: KbVersionInfo) -> HybridIndex:
    """The (cached) hybrid index of a ready version."""
    if info.status != "ready":
        raise ConflictError(
            f"{info.label} is not ready to search ({info.status}).",
            hint="Wait for the index job to finish." if info.status == "indexing" else f"Re-index it: {info.error}",
        )
    key = str(info.index_dir)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    if not (info.index_dir / "index.json").exists():
        raise NotFoundError(f"The index files of {info.label} are missing.", hint="Re-index the knowledge base.")
    index = HybridIndex.load(info.index_dir)
    with _cache_lock:
        _cache[key] = index
        while len(_cache) > _INDEX_CACHE_SIZE:
            _cache.popitem(last=False)
    return index


def search(
    version_id: str,
    query: str,
    k: int = 5,
    *,
    mode: Mode = "hybrid",
    embedder: Embedder | None = None,
    actor: Actor | None = None,
) -> SearchResult:
    """The top ``k`` passages of a knowledge-base version for ``query``."""
    info = get_version(version_id, actor=actor)
    index = load_index(info)
    emb = embedder if embedder is not None else model_embedder(info.embedding_model or None, role="query", trusted=True)
    return index.search(query, k, mode=mode, embedder=emb)
