"""``get_by_id_or_name``: one row by its id, else by its name, optionally within an owner filter."""

from __future__ import annotations

import pytest

from aigc_core.store.db import session_scope
from aigc_core.store.lookup import get_by_id_or_name
from aigc_core.store.models import BrandKit, Dataset
from aigc_core.users.roles import Actor, visible_filter

BOB, ADMIN = Actor("bob", "editor"), Actor("alice", "admin")


@pytest.fixture()
def kit_ids(settings) -> dict[str, str]:
    with session_scope() as s:
        acme, other = BrandKit(name="Acme"), BrandKit(name="Other")
        s.add_all([acme, other])
        s.flush()
        return {"Acme": acme.id, "Other": other.id}


def test_by_id_then_by_name(kit_ids) -> None:
    with session_scope() as s:
        assert get_by_id_or_name(s, BrandKit, kit_ids["Acme"]).name == "Acme"
        assert get_by_id_or_name(s, BrandKit, "Other").id == kit_ids["Other"]
        assert get_by_id_or_name(s, BrandKit, "Nope") is None


def test_an_id_wins_over_a_name_that_equals_it(kit_ids) -> None:
    with session_scope() as s:
        s.add(BrandKit(name=kit_ids["Acme"]))  # a kit named like another kit's id
    with session_scope() as s:
        assert get_by_id_or_name(s, BrandKit, kit_ids["Acme"]).name == "Acme"


def test_the_owner_filter_restricts_both_looks(settings) -> None:
    with session_scope() as s:
        mine = Dataset(name="mine", owner="bob")
        private = Dataset(name="private", owner="erin")
        shared = Dataset(name="shared", owner="erin", shared=True)
        s.add_all([mine, private, shared])
        s.flush()
        ids = {d.name: d.id for d in (mine, private, shared)}
    bob_sees = visible_filter(BOB, Dataset.owner, Dataset.shared)
    with session_scope() as s:
        for key in ("private", ids["private"]):
            assert get_by_id_or_name(s, Dataset, key, owner_filter=bob_sees) is None
            assert get_by_id_or_name(s, Dataset, key).name == "private"  # no filter: found
        assert get_by_id_or_name(s, Dataset, ids["mine"], owner_filter=bob_sees).name == "mine"
        assert get_by_id_or_name(s, Dataset, "shared", owner_filter=bob_sees).id == ids["shared"]
        admin_sees = visible_filter(ADMIN, Dataset.owner, Dataset.shared)
        assert get_by_id_or_name(s, Dataset, "private", owner_filter=admin_sees).id == ids["private"]
