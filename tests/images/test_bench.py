"""The benchmark's CPU functional check runs and ends with RESULT lines (slow: ~20-60 s)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_quick_cpu_check(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "images.py"), "--quick", "--json", str(tmp_path / "b.json")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines and all(line.endswith("PASS") for line in lines)
    assert "NOT a speed claim" in out.stdout or "GPU:" in out.stdout
