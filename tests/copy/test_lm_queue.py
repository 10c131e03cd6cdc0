"""The language model's queue: first come, first served, and a waiting request knows how many run before it."""

from __future__ import annotations

import threading
import time

from aigc_core.copy.lm import TicketLock


def test_ticket_lock_is_fifo_and_counts_who_is_ahead() -> None:
    lock = TicketLock()
    order: list[int] = []
    started: dict[int, int] = {}
    release = threading.Event()

    def work(i: int) -> None:
        started[i] = threading.get_ident()
        with lock:
            order.append(i)
            if i == 0:
                release.wait(5)

    threads = [threading.Thread(target=work, args=(0,))]
    threads[0].start()
    while not lock.locked():
        time.sleep(0.005)
    for i in (1, 2, 3):  # arrive one after the other while 0 holds the model
        t = threading.Thread(target=work, args=(i,))
        t.start()
        threads.append(t)
        while i not in started or not lock.holds_ticket(started[i]):
            time.sleep(0.005)
    assert [lock.ahead(started[i]) for i in (0, 1, 2, 3)] == [0, 1, 2, 3]
    release.set()
    for t in threads:
        t.join(5)
    assert order == [0, 1, 2, 3] and not lock.locked() and lock.ahead(started[3]) == 0


def test_a_waiting_generation_reports_its_place_then_runs(monkeypatch) -> None:
    from aigc_core.copy.generate import CopyRun

    lock = TicketLock()
    seen: list[int] = []

    class FakeLM:
        pass

    lm = FakeLM()
    lm.lock = lock  # type: ignore[attr-defined]
    hold = threading.Event()

    def run_generation(brief, *, lm, streamer_factory, **kwargs):
        with lm.lock:
            return "done"

    monkeypatch.setattr("aigc_core.copy.generate.run_generation", run_generation)
    # someone else holds the model
    entered = threading.Event()

    def other() -> None:
        with lock:
            entered.set()
            hold.wait(5)

    t = threading.Thread(target=other)
    t.start()
    entered.wait(5)
    run = CopyRun({"product": "AquaPure", "key_points": "Cold 24 hours", "channel": "slogan"}, lm=lm)
    threading.Timer(0.3, hold.set).start()
    run.wait_turn(seen.append, every_s=0.05)
    assert seen and set(seen) == {1}  # one request ahead, said while it ran
    assert run.result(5) == "done"
    t.join(5)


def test_a_generation_thread_acts_as_the_user_who_started_it(monkeypatch) -> None:
    """The browser test found every Ad copy save failing with "Nobody is signed in": the run thread had no user."""
    import pytest

    from aigc_core.copy.generate import CopyRun
    from aigc_core.errors import PermissionDeniedError
    from aigc_core.users.roles import SYSTEM, Actor, acting_as, current, set_process_actor

    class FakeLM:
        lock = TicketLock()

    monkeypatch.setattr("aigc_core.copy.generate.run_generation", lambda brief, **kw: current().name)
    brief = {"product": "AquaPure", "key_points": "Cold 24 hours", "channel": "slogan"}
    set_process_actor(None)  # as in the app process
    try:
        with acting_as(Actor("bob", "editor")):
            run = CopyRun(brief, lm=FakeLM())
        assert run.result(5) == "bob"
        with pytest.raises(PermissionDeniedError, match="may look but not start work"):
            CopyRun(brief, lm=FakeLM(), actor=Actor("vera", "viewer"))  # refused before any work
    finally:
        set_process_actor(SYSTEM)
