"""Datasets and their versions, called as the wrong user: another's private dataset reads as missing, a shared one
is read-only for others, viewers cannot create, the admin may do all; deletes and shares are audited."""

from __future__ import annotations

import pandas as pd
import pytest

from aigc_core.data import versions as V
from aigc_core.errors import NotFoundError, PermissionDeniedError
from aigc_core.users import audit
from aigc_core.users.roles import SYSTEM, acting_as

FRAME = pd.DataFrame({"text": ["good", "bad", "fine"], "label": ["pos", "neg", "pos"]})


@pytest.fixture()
def alices(team) -> V.VersionInfo:
    with acting_as(team["alice"]):
        return V.import_dataframe("alice's reviews", FRAME, filename="reviews.csv")


def _calls(v: V.VersionInfo) -> dict[str, object]:
    return {
        "get_dataset": lambda a: V.get_dataset(v.dataset_id, actor=a),
        "list_versions": lambda a: V.list_versions(v.dataset_id, actor=a),
        "get_version": lambda a: V.get_version(v.id, actor=a),
        "save_version": lambda a: V.save_version(v.dataset_id, FRAME, parent_id=v.id, actor=a, validate=False),
        "set_dataset_shared": lambda a: V.set_dataset_shared(v.dataset_id, False, actor=a),
        "delete_version": lambda a: V.delete_version(v.id, force=True, actor=a),
        "delete_dataset": lambda a: V.delete_dataset(v.dataset_id, force=True, actor=a),
    }


def test_another_users_private_dataset_reads_as_missing(team, alices) -> None:
    for name, call in _calls(alices).items():
        with pytest.raises(NotFoundError):
            call(team["bob"])
        assert V.get_version(alices.id, actor=SYSTEM).id == alices.id, name  # nothing changed
    assert V.list_datasets(actor=team["bob"]) == [] and V.list_versions(actor=team["bob"]) == []
    with acting_as(team["bob"]), pytest.raises(NotFoundError):
        V.load_version(alices.id)  # through the acting user of the context, as pages call it


def test_a_shared_dataset_is_read_by_all_and_changed_by_its_owner(team, alices) -> None:
    V.set_dataset_shared(alices.dataset_id, actor=team["alice"])
    assert [d.name for d in V.list_datasets(actor=team["vera"])] == ["alice's reviews"]
    assert V.get_version(alices.id, actor=team["bob"]).id == alices.id
    for name in ("save_version", "set_dataset_shared", "delete_version", "delete_dataset"):
        with pytest.raises(PermissionDeniedError):
            _calls(alices)[name](team["bob"])
    with pytest.raises(PermissionDeniedError):
        V.create_dataset("vera's", actor=team["vera"])  # a viewer cannot create


def test_the_admin_may_and_deletes_are_audited(team, alices) -> None:
    with acting_as(team["bob"]):
        bobs = V.import_dataframe("bob's", FRAME, filename="b.csv")
    V.delete_dataset(bobs.dataset_id, force=True, actor=team["alice"])
    events = audit.list_events(actor=SYSTEM, action="dataset.")
    assert [(e.actor, e.action, e.object_id) for e in events] == [("alice", "dataset.delete", bobs.dataset_id)]
    assert V.list_datasets(actor=team["bob"]) == []
