"""Knowledge bases in the store: owned and shared, versioned (re-index makes a new version), searched."""

from __future__ import annotations

import pytest

from aigc_core.errors import ConflictError, NotFoundError, PermissionDeniedError, UserInputError
from aigc_core.support import kb
from tests.support.conftest import FAQ_CSV, fake_embed, make_scanned_pdf


def test_build_inline_and_search(built_kb) -> None:
    v = built_kb
    assert v.status == "ready" and v.version == 1 and v.n_chunks == 6 and v.embedding_model == "fake"
    assert {s["name"] for s in v.sources} == {"faq.csv", "policy.md"}
    assert (v.path / "sources" / "faq.csv").exists() and (v.index_dir / "vectors.faiss").exists()
    res = kb.search(v.id, "what is the price of standard shipping", k=3, embedder=fake_embed)
    assert res.passages[0].chunk.title == "What does shipping cost?"


def test_reindex_makes_a_new_version_keeping_old_files(built_kb) -> None:
    extra = kb.SourceFile("hours.md", b"# Opening hours\n\nWe answer the phone from 9 to 17.\n")
    v2 = kb.add_version(built_kb.kb_id, [extra], build="inline", embedder=fake_embed, embedding_model="fake")
    assert v2.version == 2 and {s["name"] for s in v2.sources} == {"faq.csv", "policy.md", "hours.md"}
    v3 = kb.add_version(built_kb.kb_id, [], keep=["hours.md"], build="none", embedding_model="fake")
    assert v3.version == 3 and v3.status == "indexing" and [s["name"] for s in v3.sources] == ["hours.md"]
    assert kb.ready_version(built_kb.kb_id).id == v2.id
    assert [v.version for v in kb.list_versions(built_kb.kb_id)] == [3, 2, 1]
    with pytest.raises(ConflictError, match="not ready"):
        kb.search(v3.id, "hours", embedder=fake_embed)
    assert kb.search(built_kb.id, "phone hours", embedder=fake_embed).passages[0].chunk.source != "hours.md"


def test_bad_file_writes_nothing(settings, built_kb) -> None:
    before = kb.list_versions(built_kb.kb_id)
    with pytest.raises(UserInputError, match="no text layer"):
        kb.add_version(built_kb.kb_id, [kb.SourceFile("scan.pdf", make_scanned_pdf())], build="none")
    with pytest.raises(UserInputError, match="no answer column"):
        kb.add_version(built_kb.kb_id, [kb.SourceFile("f.csv", b"question,x\na,b\n")], build="none")
    assert len(kb.list_versions(built_kb.kb_id)) == len(before)


def test_names_are_unique_and_required(built_kb) -> None:
    with pytest.raises(ConflictError):
        kb.create_kb("Help centre")
    with pytest.raises(UserInputError):
        kb.create_kb("  ")


def test_ownership_private_shared_and_viewer(settings, built_kb) -> None:
    from aigc_core.users.roles import Actor

    alice, bob, vic = Actor("alice", "editor"), Actor("bob", "editor"), Actor("vic", "viewer")
    mine = kb.create_kb("Alice KB", actor=alice)
    v = kb.add_version(mine.id, [kb.SourceFile("faq.csv", FAQ_CSV.encode())], build="inline", embedder=fake_embed,
                       embedding_model="fake", actor=alice)  # fmt: skip
    assert [k.name for k in kb.list_kbs(actor=bob)] == []
    with pytest.raises(NotFoundError):
        kb.get_version(v.id, actor=bob)
    with pytest.raises(PermissionDeniedError):
        kb.create_kb("Viewer KB", actor=vic)
    kb.set_kb_shared(mine.id, True, actor=alice)
    assert kb.search(v.id, "refund days", embedder=fake_embed, actor=bob).passages
    with pytest.raises(PermissionDeniedError):
        kb.add_version(mine.id, [kb.SourceFile("x.md", b"# X\n\ny\n")], build="none", actor=bob)
    with pytest.raises(PermissionDeniedError):
        kb.delete_kb(mine.id, actor=bob)
    kb.delete_kb(mine.id, actor=alice)
    assert not v.path.exists()
    with pytest.raises(NotFoundError):
        kb.get_kb(mine.id, actor=alice)


def test_index_job_kind_builds_with_progress(settings, built_kb, monkeypatch) -> None:
    from aigc_core.jobs import get_kind
    from aigc_core.support import jobs as support_jobs

    v = kb.add_version(built_kb.kb_id, [], build="none", embedding_model="fake")
    monkeypatch.setattr(kb, "model_embedder", lambda _model=None, **_kw: fake_embed)

    class Ctx:
        def __init__(self) -> None:
            self.progress: list[float] = []

        def report(self, p: float, m: str = "") -> None:
            self.progress.append(p)

        def should_stop(self) -> bool:
            return False

    ctx = Ctx()
    out = get_kind(support_jobs.INDEX_KIND).fn(ctx, support_jobs.IndexParams(version_id=v.id))
    assert out["status"] == "ready" and ctx.progress[-1] == 1.0 and len(ctx.progress) >= 3
    assert kb.get_version(v.id).status == "ready"


def test_job_mode_submits_an_index_job(built_kb) -> None:
    from aigc_core import jobs

    v = kb.add_version(built_kb.kb_id, [], build="none", embedding_model="fake")
    assert v.job_id is None
    v2 = kb.add_version(built_kb.kb_id, [], build="job", embedder=fake_embed, embedding_model="fake")
    job = jobs.get(v2.job_id)
    assert job.kind == "support.index" and job.params == {"version_id": v2.id} and job.status == "queued"


def test_deleting_a_kb_keeps_its_stored_replies(built_kb) -> None:
    from aigc_core.support import reply as rp

    d = rp.draft_reply(built_kb.id, {"text": "Do you sell zoo tickets?"}, embedder=fake_embed, min_similarity=1.0,
                       min_coverage=1.0)  # fmt: skip
    kb.delete_kb(built_kb.kb_id)
    row = rp.get_reply(d.id)
    assert row["kb_version_id"] is None and row["passages"] and row["status"] == "handoff"
