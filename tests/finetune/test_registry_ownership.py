"""Model versions belong to whoever trained them: private until shared, the promoted one the team's; promote and
roll back are admin actions; every owner-checked function called as the wrong user; the catalog and the training
base resolve only versions the acting user may use; a version worse than its base is never promoted."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aigc_core.errors import ConflictError, ModelUnavailableError, NotFoundError, PermissionDeniedError
from aigc_core.finetune import jobs as ft_jobs
from aigc_core.finetune import registry
from aigc_core.finetune.params import CAUSAL_LM_TASK, CLASSIFIER_TASK, ClassifierJobParams
from aigc_core.finetune.training import resolve_base
from aigc_core.models import catalog
from aigc_core.users import audit
from aigc_core.users.roles import SYSTEM, Actor, acting_as, set_process_actor

ADMIN, EDITOR, VIEWER = Actor("alice", "admin"), Actor("bob", "editor"), Actor("vera", "viewer")
OTHER = Actor("erin", "editor")
PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "finetune.py")


def _register(
    source: Path, name: str, actor: Actor, *, task: str = CLASSIFIER_TASK, metrics: dict | None = None
) -> registry.ModelVersionInfo:
    """A version of ``source`` (copied into the registry) registered by ``actor``."""
    vid, target = registry.new_version_dir()
    shutil.copytree(source, target)
    return registry.register_version(
        version_id=vid,
        path=target,
        task=task,
        name=name,
        base_model="tiny",
        params=ClassifierJobParams().stored(),
        metrics=metrics or {},
        actor=actor,
    )


@pytest.fixture()
def versions(settings, tiny_bert_classifier_dir: Path) -> dict[str, registry.ModelVersionInfo]:
    """alice's and bob's private classifier versions, and one of erin's she shared."""
    shared = _register(tiny_bert_classifier_dir, "erin shared", OTHER)
    registry.set_version_shared(shared.id, actor=OTHER)
    return {
        "alice": _register(tiny_bert_classifier_dir, "alice private", ADMIN),
        "bob": _register(tiny_bert_classifier_dir, "bob private", EDITOR),
        "erin": registry.get_version(shared.id),
    }


def test_a_version_is_owned_by_who_registered_it(versions) -> None:
    assert versions["bob"].owner == "bob" and not versions["bob"].shared
    assert versions["alice"].owner == "alice"
    with acting_as(EDITOR):  # a training job's process acts as the job's owner: no actor is passed there
        inside = _register(Path(versions["bob"].path), "from a job", None)  # type: ignore[arg-type]
    assert inside.owner == "bob"
    with pytest.raises(PermissionDeniedError, match="may look but not start work"):
        _register(Path(versions["bob"].path), "viewer's", VIEWER)


def test_lists_show_own_shared_and_promoted_versions(versions) -> None:
    ids = {k: v.id for k, v in versions.items()}
    assert {v.id for v in registry.list_versions(actor=EDITOR)} == {ids["bob"], ids["erin"]}
    assert {v.id for v in registry.list_versions(actor=VIEWER)} == {ids["erin"]}
    assert {v.id for v in registry.list_versions(CLASSIFIER_TASK, actor=ADMIN)} >= set(ids.values())
    registry.promote(ids["alice"], actor=ADMIN)  # promoted: the team's default, everyone reads it
    assert ids["alice"] in {v.id for v in registry.list_versions(actor=VIEWER)}
    assert registry.get_version(ids["alice"], actor=VIEWER).promoted
    assert registry.promoted(CLASSIFIER_TASK).id == ids["alice"]


def test_another_users_private_version_reads_as_missing(versions) -> None:
    alice = versions["alice"]
    for call in (
        lambda: registry.get_version(alice.id, actor=EDITOR),
        lambda: registry.resolve_ref(alice.ref, CLASSIFIER_TASK, actor=EDITOR),
        lambda: registry.usages(alice.id, actor=EDITOR),
        lambda: registry.export_version(alice.id, actor=EDITOR),
        lambda: registry.set_version_shared(alice.id, actor=EDITOR),
        lambda: registry.delete_version(alice.id, actor=EDITOR),
        lambda: ft_jobs.continue_version(alice.id, 1.0, actor=EDITOR),
    ):
        with pytest.raises(NotFoundError, match="does not exist"):
            call()
    assert registry.get_version(alice.id, actor=ADMIN).name == "alice private"  # nothing changed
    assert Path(alice.path).is_dir()
    denied = audit.list_events(actor=ADMIN, action="denied:")
    assert any(e.actor == "bob" and e.object_id == alice.id for e in denied)


def test_a_shared_version_is_read_only_for_others(versions) -> None:
    erin = versions["erin"]
    assert registry.get_version(erin.id, actor=EDITOR).shared
    assert registry.export_version(erin.id, actor=EDITOR).is_dir()
    with pytest.raises(PermissionDeniedError, match="only its owner or an admin"):
        registry.delete_version(erin.id, actor=EDITOR)
    with pytest.raises(PermissionDeniedError, match="only its owner or an admin"):
        registry.set_version_shared(erin.id, False, actor=EDITOR)
    with pytest.raises(PermissionDeniedError):
        registry.set_version_shared(erin.id, False, actor=VIEWER)
    assert not registry.set_version_shared(erin.id, False, actor=OTHER).shared  # the owner makes it private again
    with pytest.raises(NotFoundError):
        registry.get_version(erin.id, actor=EDITOR)


def test_delete_is_for_the_owner_or_an_admin_and_audited(versions) -> None:
    registry.delete_version(versions["bob"].id, actor=EDITOR)
    assert not Path(versions["bob"].path).exists()
    registry.delete_version(versions["erin"].id, actor=ADMIN)
    deleted = audit.list_events(actor=ADMIN, action="model_version.delete")
    assert {(e.actor, e.object_id) for e in deleted} == {("bob", versions["bob"].id), ("alice", versions["erin"].id)}


def test_promote_rollback_and_unpromote_are_admin_actions(versions) -> None:
    bob = versions["bob"]
    for who in (EDITOR, VIEWER):
        with pytest.raises(PermissionDeniedError, match="Only an admin"):
            registry.promote(bob.id, actor=who)  # not even one's own version
        with pytest.raises(PermissionDeniedError, match="Only an admin"):
            registry.rollback(CLASSIFIER_TASK, actor=who)
        with pytest.raises(PermissionDeniedError, match="Only an admin"):
            registry.unpromote(CLASSIFIER_TASK, actor=who)
    assert registry.promoted(CLASSIFIER_TASK) is None
    registry.promote(versions["alice"].id, actor=ADMIN)
    registry.promote(bob.id, actor=ADMIN)
    assert registry.rollback(CLASSIFIER_TASK, actor=ADMIN).id == versions["alice"].id
    registry.unpromote(CLASSIFIER_TASK, actor=ADMIN)
    assert registry.promoted(CLASSIFIER_TASK) is None
    actions = [e.action for e in audit.list_events(actor=ADMIN, action="model_version.")]
    assert actions.count("model_version.promote") == 3  # the rollback promotes again
    assert "model_version.rollback" in actions and "model_version.unpromote" in actions
    assert len([e for e in audit.list_events(actor=ADMIN, action="denied:admin") if e.actor == "bob"]) == 3


@pytest.mark.parametrize(
    ("task", "metrics", "promotable"),
    [
        (CLASSIFIER_TASK, {"test": {"macro_f1": 0.41}, "base": {"macro_f1": 0.62}}, False),
        (CLASSIFIER_TASK, {"test": {"macro_f1": 0.62}, "base": {"macro_f1": 0.62}}, True),
        (CLASSIFIER_TASK, {"test": {"macro_f1": 0.5}}, True),  # no baseline measured: nothing to compare
        (CAUSAL_LM_TASK, {"test": {"perplexity": 14.0}, "base": {"perplexity": 9.5}}, False),
        (CAUSAL_LM_TASK, {"test": {"perplexity": 7.0}, "base": {"perplexity": 9.5}}, True),
    ],
)
def test_a_version_worse_than_its_base_never_becomes_the_default(
    settings, tiny_bert_classifier_dir: Path, task: str, metrics: dict, promotable: bool
) -> None:
    v = _register(tiny_bert_classifier_dir, "candidate", EDITOR, task=task, metrics=metrics)
    assert (registry.worse_than_base(v) == "") is promotable
    if promotable:
        assert registry.promote(v.id, actor=ADMIN).promoted
        return
    with pytest.raises(ConflictError, match="base model"):
        registry.promote(v.id, actor=ADMIN)
    assert registry.promoted(task) is None


def test_rollback_skips_nothing_but_refuses_a_worse_version(settings, tiny_bert_classifier_dir: Path) -> None:
    good = _register(tiny_bert_classifier_dir, "good", EDITOR)
    better = _register(tiny_bert_classifier_dir, "better", EDITOR)
    registry.promote(good.id, actor=ADMIN)
    registry.promote(better.id, actor=ADMIN)
    from aigc_core.store import models as m
    from aigc_core.store.db import session_scope

    with session_scope() as s:  # its scores were corrected after it was promoted once
        s.get(m.ModelVersion, good.id).metrics = {"test": {"macro_f1": 0.1}, "base": {"macro_f1": 0.5}}
    with pytest.raises(ConflictError):
        registry.rollback(CLASSIFIER_TASK, actor=ADMIN)
    assert registry.promoted(CLASSIFIER_TASK).id == better.id


def test_the_catalog_loads_only_versions_the_acting_user_may_use(versions, monkeypatch) -> None:
    alice, bob, erin = versions["alice"], versions["bob"], versions["erin"]
    assert catalog.resolve("sentiment", bob.ref, actor=EDITOR).registry_id == bob.id
    assert catalog.resolve("sentiment", erin.ref, actor=VIEWER).registry_id == erin.id
    with pytest.raises(NotFoundError, match="no model version"):
        catalog.resolve("sentiment", alice.ref, actor=EDITOR)
    with acting_as(EDITOR), pytest.raises(ModelUnavailableError, match="no model version"):  # the context's user
        catalog.resolve("sentiment", alice.ref)
    assert catalog.resolve("sentiment", alice.ref).registry_id == alice.id  # SYSTEM (the test process)
    registry.promote(alice.id, actor=ADMIN)
    assert catalog.resolve("sentiment", "registry:promoted", actor=VIEWER).registry_id == alice.id
    assert catalog.resolve("sentiment", alice.ref, actor=VIEWER).registry_id == alice.id  # promoted: the team's


def test_the_operators_setting_may_name_any_version(versions, monkeypatch) -> None:
    from aigc_core.settings import reset_settings

    monkeypatch.setenv("AIGC_SENTIMENT_MODEL", versions["alice"].ref)
    reset_settings()
    with acting_as(EDITOR):
        assert catalog.resolve("sentiment").registry_id == versions["alice"].id
        assert catalog.resolve("sentiment", versions["alice"].ref).registry_id == versions["alice"].id


def test_training_bases_are_checked_like_model_sources(versions, tiny_bert_classifier_dir: Path) -> None:
    with pytest.raises(NotFoundError):
        resolve_base(CLASSIFIER_TASK, versions["alice"].ref, actor=EDITOR)
    assert resolve_base(CLASSIFIER_TASK, versions["bob"].ref, actor=EDITOR) == Path(versions["bob"].path)
    with pytest.raises(PermissionDeniedError, match="Only an admin may load a model from a folder or the hub"):
        resolve_base(CLASSIFIER_TASK, str(tiny_bert_classifier_dir), actor=EDITOR)
    with pytest.raises(PermissionDeniedError, match="Only an admin may load a model from a folder or the hub"):
        resolve_base(CLASSIFIER_TASK, "someorg/some-encoder", actor=EDITOR)
    assert resolve_base(CLASSIFIER_TASK, str(tiny_bert_classifier_dir), actor=ADMIN) == tiny_bert_classifier_dir
    params = ClassifierJobParams(dataset_version_id="x", base_model=str(tiny_bert_classifier_dir))
    with pytest.raises(PermissionDeniedError):  # the form's pre-flight refuses before anything is queued
        ft_jobs.preflight_classifier(params, splits=ft_jobs.DatasetSplits(None, None, None), actor=EDITOR)


def _page_as(actor: Actor) -> AppTest:
    set_process_actor(actor)
    try:
        at = AppTest.from_file(PAGE, default_timeout=60).run()
    finally:
        set_process_actor(SYSTEM)
    assert not at.exception, at.exception
    return at


def test_the_page_offers_folders_and_hub_ids_and_promotion_to_admins_only(versions, monkeypatch) -> None:
    from aigc_core.finetune import runs

    fake = runs.DatasetVersionOption(
        id="dv1", label="tweets v1", columns=["text", "label"], roles={}, row_counts={"train": 8}, kind="split"
    )
    monkeypatch.setattr(runs, "dataset_version_options", lambda **kw: [fake])
    editor = _page_as(EDITOR)
    base = editor.selectbox(key=f"ft_base_{CLASSIFIER_TASK}")
    assert "custom…" not in base.options and versions["bob"].ref in base.options
    assert versions["alice"].ref not in base.options
    assert editor.button(key="ft_reg_promote").disabled and editor.button(key="ft_reg_rollback").disabled
    admin = _page_as(ADMIN)
    assert "custom…" in admin.selectbox(key=f"ft_base_{CLASSIFIER_TASK}").options
    assert not admin.button(key="ft_reg_rollback").disabled
