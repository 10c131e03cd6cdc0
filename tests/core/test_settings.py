"""Settings: declared once, documented in the README, validated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from aigc_core.settings import Settings, settings_markdown_table

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_has_help_text() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description and len(field.description) > 15, f"setting {name} has no help text"


def test_readme_settings_table_is_generated_from_settings() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- settings:start -->\n(.*?)\n<!-- settings:end -->", readme, re.S)
    assert match, "README.md lacks the <!-- settings:start/end --> block"
    assert match.group(1).strip() == settings_markdown_table().strip(), (
        "README settings table is stale: regenerate with `python -m aigc_core.settings --markdown`"
    )


def test_every_setting_is_named_in_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"AIGC_{name.upper()}" in readme


def test_env_prefix_and_derived_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGC_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("AIGC_MAX_UPLOAD_MB", "5")
    s = Settings()
    assert s.resolved_data_dir == (tmp_path / "d").resolve()
    assert s.resolved_database_url == f"sqlite:///{(tmp_path / 'd').resolve() / 'aigc.db'}"
    assert s.max_upload_bytes == 5 * 1024 * 1024


@pytest.mark.parametrize(
    ("var", "value"),
    [("AIGC_DEVICE", "gpu0"), ("AIGC_DTYPE", "fp8"), ("AIGC_MAX_UPLOAD_MB", "0"), ("AIGC_JOB_WORKERS", "many")],
)
def test_bad_values_are_rejected_with_the_setting_named(monkeypatch: pytest.MonkeyPatch, var: str, value: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ValidationError) as err:
        Settings()
    assert var.removeprefix("AIGC_").lower() in str(err.value)


def test_offline_follows_hf_hub_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIGC_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert Settings().is_offline
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert not Settings().is_offline
    monkeypatch.setenv("AIGC_OFFLINE", "true")
    assert Settings().is_offline
