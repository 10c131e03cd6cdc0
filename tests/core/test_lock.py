"""The hashed lock files that set-up installs agree with the pins written in the requirements files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#\\]+)", re.MULTILINE)

# requirements file -> the lock files that must hold each of its pins
LOCKS = {
    "requirements.txt": ("requirements.lock", "requirements-dev.lock"),
    "requirements-dev.txt": ("requirements-dev.lock",),
    "requirements-models.txt": ("requirements-models.lock",),
    "requirements-llama.txt": ("requirements-llama.lock",),
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """Package name (normalised) -> pinned version, local label (``+cpu``) dropped."""
    return {_norm(n): v.split("+")[0] for n, v in PIN.findall(path.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("requirements", sorted(LOCKS))
def test_every_pin_is_in_its_lock_files(requirements: str) -> None:
    wanted = pins(ROOT / requirements)
    assert wanted, f"{requirements} pins nothing"
    for lock in LOCKS[requirements]:
        locked = pins(ROOT / lock)
        wrong = {n: (v, locked.get(n)) for n, v in wanted.items() if locked.get(n) != v}
        assert not wrong, f"{lock} is out of date with {requirements} (run scripts/lock.sh): {wrong}"


@pytest.mark.parametrize("lock", sorted({lock for locks in LOCKS.values() for lock in locks}))
def test_every_locked_package_has_a_hash(lock: str) -> None:
    text = (ROOT / lock).read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text)
    unhashed = [e.split()[0] for e in entries if PIN.match(e) and "--hash=sha256:" not in e]
    assert not unhashed, f"{lock}: no hash for {unhashed}"
    assert "+cpu" not in text, f"{lock}: torch must be pinned without its local label (scripts/lock.sh)"
