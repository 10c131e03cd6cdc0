"""Batched sentiment scoring: normalise -> tokenize (length-sorted, dynamic padding) -> forward -> softmax.

Works with the embedded model (MiniLM encoder + trained head) and with any Hugging Face
sequence-classification folder or hub id, whose labels are mapped onto negative/neutral/positive.
Scores are cached in the store per text hash and model version.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from aigc_core.errors import LabelMappingError, UserInputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import torch
    from sqlalchemy.sql.expression import Insert

    from aigc_core.models.catalog import ResolvedModel
    from aigc_core.models.manager import LoadedModel

CANONICAL_LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
LABEL_ALIASES: dict[str, str] = {
    "negative": "negative",
    "neg": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "positive": "positive",
    "pos": "positive",
}
SORT_CHUNK = 8192  # texts tokenized and length-sorted together
# On the CPU, padded tokens per batch at most (rows x width): long texts go in smaller batches, so a batch of
# long texts keeps its activations in the CPU caches (batch 256 on 2 cores: 235 -> 517 texts/s; batch 64 about
# the same). GPUs want the big batches, so there is no budget there.
MAX_BATCH_TOKENS = 4096
EMBEDDED_KEYS = frozenset({"embedded", "auto", "minilm-tweets-sentiment"})

# --------------------------------------------------------------------------------------------
# Text normalisation and hashing
# --------------------------------------------------------------------------------------------
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION_RE = re.compile(r"(?<![\w@])@\w+")
_SPACE_RE = re.compile(r"\s+")

NORMALIZATION: dict[str, Any] = {
    "ftfy": True,
    "urls": "http",
    "mentions": "@user",
    "whitespace": "collapsed",
}


def normalize_text(text: Any) -> str:
    """Tweet-style clean-up: fix mojibake (ftfy), URLs -> ``http``, @mentions -> ``@user``, collapse spaces."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    import ftfy

    s = ftfy.fix_text(str(text))
    s = _URL_RE.sub("http", s)
    s = _MENTION_RE.sub("@user", s)
    return _SPACE_RE.sub(" ", s).strip()


def text_hash(text: Any) -> str:
    """sha256 (hex) of the normalised text: the cache key of a score."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------
# Batched forward over tokenized texts
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tokenized:
    """Token ids of each text (already truncated) and how many texts were truncated."""

    input_ids: list[list[int]]
    n_truncated: int


def tokenize(tokenizer: Any, texts: Sequence[str], max_length: int) -> Tokenized:
    """Tokenize all texts once, truncating to ``max_length`` and counting the truncated ones."""
    if not texts:
        return Tokenized([], 0)
    enc = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
    encodings = getattr(enc, "encodings", None)
    if encodings is not None:
        n_trunc = sum(1 for e in encodings if e.overflowing)
    else:  # slow tokenizer: count by re-tokenizing without truncation
        full = tokenizer(list(texts), truncation=False, padding=False)["input_ids"]
        n_trunc = sum(1 for ids in full if len(ids) > max_length)
    return Tokenized(list(enc["input_ids"]), n_trunc)


def batched_forward(
    tokenized: Tokenized,
    forward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    pad_token_id: int,
    batch_size: int,
    device: str = "cpu",
    progress: Callable[[int, int], None] | None = None,
    max_tokens: int | None = None,
) -> np.ndarray:
    """Run ``forward(input_ids, attention_mask)`` over length-sorted batches; rows come back in input order.

    A batch holds at most ``batch_size`` texts and at most ``max_tokens`` padded tokens (always at least one
    text); ``max_tokens`` defaults to :data:`MAX_BATCH_TOKENS` on the CPU and no cap on other devices.
    """
    import torch

    ids = tokenized.input_ids
    n = len(ids)
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=n)
    order = np.argsort(lengths, kind="stable")
    if max_tokens is None and device == "cpu":
        max_tokens = MAX_BATCH_TOKENS
    out: np.ndarray | None = None
    done = 0
    with torch.inference_mode():
        for idx in _batches(lengths[order], order, batch_size, max_tokens):
            width = int(lengths[idx[-1]])
            arr = np.full((len(idx), width), pad_token_id, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                seq = ids[i]
                arr[row, : len(seq)] = seq
                mask[row, : len(seq)] = 1
            res = forward(torch.from_numpy(arr).to(device), torch.from_numpy(mask).to(device))
            res_np = res.float().cpu().numpy()
            if out is None:
                out = np.empty((n, res_np.shape[1]), dtype=np.float32)
            out[idx] = res_np
            done += len(idx)
            if progress is not None:
                progress(done, n)
    assert out is not None
    return out


def _batches(
    sorted_lengths: np.ndarray, order: np.ndarray, batch_size: int, max_tokens: int | None
) -> Iterable[np.ndarray]:
    """Consecutive slices of ``order`` (sorted by length): <= batch_size rows and <= max_tokens padded tokens."""
    n = len(order)
    start = 0
    while start < n:
        stop = min(start + batch_size, n)
        if max_tokens is not None:
            # width of rows start..k-1 is sorted_lengths[k-1]; keep the largest k with (k - start) * width <= budget
            k = np.arange(start + 1, stop + 1)
            fits = (k - start) * np.maximum(sorted_lengths[k - 1], 1) <= max_tokens
            stop = int(k[fits][-1]) if fits.any() else start + 1
        yield order[start:stop]
        start = stop


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, numerically stable."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------------------------
# Models that can be scored
# --------------------------------------------------------------------------------------------
class ScoringModel(Protocol):
    """What :func:`score_texts` needs from a model."""

    labels: tuple[str, ...]
    version: str
    tokenizer: Any
    max_length: int
    device: str

    def logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Class logits (or log-probabilities) in ``labels`` order for one padded batch."""
        ...


def parse_label_map(value: str | Mapping[str, str] | None) -> dict[str, str] | None:
    """A label mapping from a dict, a JSON object or ``RAW=label,RAW=label`` text."""
    if value is None or isinstance(value, Mapping):
        return dict(value) if value is not None else None
    text = value.strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LabelMappingError(
                f"The label map is not valid JSON: {exc.msg}.",
                hint='Write it as {"LABEL_0": "negative", ...} or LABEL_0=negative,LABEL_1=neutral,LABEL_2=positive.',
            ) from exc
        if not isinstance(parsed, dict):
            raise LabelMappingError("The label map must be a JSON object.", hint='e.g. {"LABEL_0": "negative"}')
        return {str(k): str(v) for k, v in parsed.items()}
    result: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise LabelMappingError(
                f"Label map entry {part.strip()!r} has no '='.",
                hint="Write it as LABEL_0=negative,LABEL_1=neutral,LABEL_2=positive.",
            )
        raw, _, target = part.partition("=")
        result[raw.strip()] = target.strip()
    return result


def resolve_label_mapping(
    raw_labels: Sequence[str], label_map: Mapping[str, str] | None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """A (raw classes x sentiment classes) 0/1 matrix mapping a model's labels onto sentiment, and those classes.

    Without ``label_map`` the raw labels must already be sentiment names (any case, or neg/neu/pos).
    Several raw labels may map to one class (e.g. 1-2 stars -> negative); their probabilities add up.
    """
    raw = [str(r) for r in raw_labels]
    canon_of: dict[str, str] = {}
    if label_map:
        norm_map = {str(k).strip(): str(v).strip().lower() for k, v in label_map.items()}
        bad_targets = sorted({v for v in norm_map.values() if v not in LABEL_ALIASES})
        if bad_targets:
            raise LabelMappingError(
                f"The label map targets {', '.join(map(repr, bad_targets))}, which are not sentiment labels.",
                hint="Map each model label to negative, neutral or positive.",
            )
        unknown = sorted(set(norm_map) - set(raw))
        if unknown:
            raise LabelMappingError(
                f"The label map names {', '.join(map(repr, unknown))}, which the model does not have.",
                hint=f"The model's labels are: {', '.join(raw)}.",
            )
        missing = [r for r in raw if r not in norm_map]
        if missing:
            raise LabelMappingError(
                f"The label map does not say what {', '.join(map(repr, missing))} mean.",
                hint=f"Map every model label ({', '.join(raw)}) to negative, neutral or positive.",
            )
        canon_of = {r: LABEL_ALIASES[norm_map[r]] for r in raw}
    else:
        for r in raw:
            c = LABEL_ALIASES.get(r.strip().lower())
            if c is None:
                raise LabelMappingError(
                    f"The model's labels ({', '.join(raw)}) are not negative/neutral/positive.",
                    hint=(
                        "Give a label mapping, e.g. "
                        + ",".join(f"{r}={t}" for r, t in zip(raw, _guess_targets(len(raw)), strict=False))
                        + " (check the model card for what each label means)."
                    ),
                )
            canon_of[r] = c
        if len(set(canon_of.values())) != len(raw):
            raise LabelMappingError(
                f"The model's labels ({', '.join(raw)}) name the same sentiment twice.",
                hint="Give a label mapping that says which label is which.",
            )
    targets = [c for c in CANONICAL_LABELS if c in set(canon_of.values())]
    if len(targets) < 2:
        raise LabelMappingError(
            "The label mapping leaves fewer than two sentiment classes.",
            hint="Map the labels onto at least negative and positive.",
        )
    matrix = np.zeros((len(raw), len(targets)), dtype=np.float32)
    for i, r in enumerate(raw):
        matrix[i, targets.index(canon_of[r])] = 1.0
    return matrix, tuple(targets)


def _guess_targets(n: int) -> list[str]:
    if n == 3:
        return list(CANONICAL_LABELS)
    if n == 2:
        return ["negative", "positive"]
    if n == 5:
        return ["negative", "negative", "neutral", "positive", "positive"]
    return ["negative"] * n


class HFClassifierModel:
    """A Hugging Face sequence-classification model whose labels are mapped onto sentiment classes.

    The weights are the model manager's (loaded once per model, device and precision); the label mapping is
    applied on top, so two mappings of one model share its weights.
    """

    def __init__(
        self,
        loaded: LoadedModel,
        *,
        label_map: Mapping[str, str] | None = None,
        resolved: ResolvedModel | None = None,
        version: str | None = None,
    ) -> None:
        import torch

        model, tokenizer = loaded.model, loaded.tokenizer
        resolved = resolved or loaded.resolved
        self.loaded = loaded
        self.model = model
        self.tokenizer = tokenizer
        self.device = loaded.device
        id2label = getattr(model.config, "id2label", None) or {}
        raw = [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(model.config.num_labels)]
        self.raw_labels: tuple[str, ...] = tuple(raw)
        matrix, self.labels = resolve_label_mapping(raw, label_map)
        self._collapse = torch.from_numpy(matrix)
        self._identity = bool(matrix.shape[0] == matrix.shape[1] and np.array_equal(matrix, np.eye(len(raw))))
        limit = min(
            int(getattr(tokenizer, "model_max_length", 512) or 512),
            int(getattr(model.config, "max_position_embeddings", 512) or 512),
        )
        # RoBERTa-style models reserve position ids for padding.
        if getattr(model.config, "model_type", "") in {"roberta", "xlm-roberta", "camembert"}:
            limit = min(limit, int(model.config.max_position_embeddings) - 2)
        self.max_length = max(8, min(limit, 512))
        self.pad_token_id = (
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else model.config.pad_token_id or 0
        )
        if version is None and resolved.registry_id:
            version = f"registry:{resolved.registry_id}"
        mapping = ",".join(f"{k}={v}" for k, v in sorted((label_map or {}).items()))
        precision = loaded.dtype
        self.version = (
            (version or f"hf:{_weights_name(resolved, model)}")
            + (f"|map:{mapping}" if mapping else "")
            + ("" if precision == "float32" else f"+{precision}")
        )

    def logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of the canonical classes (raw classes summed per target)."""
        import torch

        out = self.model(input_ids=input_ids, attention_mask=attention_mask).logits.float()
        if self._identity:
            return out
        probs = torch.softmax(out, dim=-1) @ self._collapse.to(out.device)
        return torch.log(probs.clamp_min(1e-12))


def _weights_name(resolved: ResolvedModel, model: Any) -> str:
    """What the scores of a classifier are cached under: a hub id pinned to the commit that was loaded, or a
    folder's path and when its files last changed."""
    local = resolved.local_path
    if resolved.hub_id:
        commit = getattr(model.config, "_commit_hash", None)
        if not commit and local is not None and local.parent.name == "snapshots":
            commit = local.name
        return resolved.hub_id + (f"@{commit[:12]}" if commit else "")
    assert local is not None
    stamp = max((f.stat().st_mtime_ns for f in local.iterdir() if f.is_file()), default=0)
    return f"{local}#{stamp}"


EMBEDDED_CATALOG_KEY = "minilm-tweets-sentiment"  # the catalog's entry for the embedded head in assets/
REGISTRY_TASK = "text-classification"  # the fine-tune registry's classifier task (the catalog's task name)


def load_model(
    model: str | ScoringModel = "embedded",
    *,
    label_map: Mapping[str, str] | str | None = None,
    device: str | None = None,
    dtype: str | None = None,
) -> ScoringModel:
    """A scoring model from ``embedded``, a catalog key, a folder, a hub id or ``registry:<version id>``.

    The value is resolved by the model catalog (folders and hub ids are for admins, registry versions must be
    ones the acting user may read, weights must be safetensors) and loaded by the process-wide model manager,
    once per model, device and precision (it shows in the sidebar and counts against the memory budget);
    ``registry:promoted`` is resolved on every call, so it follows whichever version is promoted now.

    ``dtype``: float32, bfloat16, float16 or auto; default :func:`aigc_core.devices.classifier_inference_dtype`
    (the AIGC_DTYPE setting, except bfloat16 on CPUs with native bf16 when AIGC_CPU_BF16_INFERENCE is on).
    """
    if not isinstance(model, str):
        return model
    spec = model.strip()
    if not spec:
        raise UserInputError(
            "No sentiment model was given.", hint="Use 'embedded', a folder, a hub id or registry:<id>."
        )
    mapping = parse_label_map(label_map)
    if dtype is not None and dtype not in {"auto", "float32", "bfloat16", "float16"}:
        raise UserInputError(f"Unknown precision {dtype!r}.", hint="Use auto, float32, bfloat16 or float16.")
    if dtype in (None, "auto"):
        from aigc_core.devices import classifier_inference_dtype

        dtype = classifier_inference_dtype(device)
    from aigc_core.models.catalog import resolve
    from aigc_core.models.manager import get_manager

    value = EMBEDDED_CATALOG_KEY if spec.lower() in EMBEDDED_KEYS else spec
    resolved = resolve(REGISTRY_TASK, value)  # source rule, registry owner checks, safetensors only
    loaded = get_manager().load_resolved(resolved, device=device, dtype=dtype)
    if resolved.kind == "sentiment-head":  # the embedded MiniLM head (or another head folder): own labels
        return loaded.model
    return HFClassifierModel(loaded, label_map=mapping, resolved=resolved)


def clear_model_cache() -> None:
    """Unload the sentiment classifiers from the model manager (tests, memory pressure)."""
    from aigc_core.models.manager import get_manager

    manager = get_manager()
    for info in manager.loaded():
        if info.task == REGISTRY_TASK:
            manager.unload(info.id)


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------
@dataclass
class ScoreResult:
    """Scores of a list of texts, in input order; skipped (empty) texts have label None and NaN scores."""

    labels: list[str | None]
    scores: np.ndarray
    probs: np.ndarray
    label_order: tuple[str, ...]
    model_version: str
    n_empty: int = 0
    n_truncated: int = 0
    empty_indices: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_scored(self) -> int:
        """Texts that got a score."""
        return len(self.labels) - self.n_empty

    def prob(self, label: str) -> np.ndarray:
        """The probability column of one class."""
        return self.probs[:, self.label_order.index(label)]

    def to_frame(self) -> pd.DataFrame:
        """Columns ``label``, ``score`` and ``prob_<class>`` per class."""
        import pandas as pd

        data: dict[str, Any] = {"label": pd.array(self.labels, dtype="string"), "score": self.scores}
        for j, name in enumerate(self.label_order):
            data[f"prob_{name}"] = self.probs[:, j]
        return pd.DataFrame(data)


def _empty_result(n: int, labels: tuple[str, ...], version: str) -> ScoreResult:
    return ScoreResult(
        labels=[None] * n,
        scores=np.full(n, np.nan, dtype=np.float32),
        probs=np.full((n, len(labels)), np.nan, dtype=np.float32),
        label_order=labels,
        model_version=version,
        n_empty=n,
        empty_indices=list(range(n)),
    )


def score_texts(
    texts: Iterable[Any],
    *,
    model: str | ScoringModel = "embedded",
    batch_size: int = 64,
    device: str | None = None,
    label_map: Mapping[str, str] | str | None = None,
    dtype: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScoreResult:
    """Score texts with a sentiment model; empty texts are skipped and reported, order is kept.

    ``model``: ``embedded``, a folder, a hub id, ``registry:<version id>`` or a loaded model.
    ``label_map`` maps a model's own labels onto negative/neutral/positive (dict, JSON or ``A=negative,...``).
    """
    if batch_size < 1:
        raise UserInputError(f"Batch size must be at least 1, not {batch_size}.", hint="Use e.g. 64.")
    m = load_model(model, label_map=label_map, device=device, dtype=dtype)
    # preprocess
    normalized = [normalize_text(t) for t in texts]
    keep = [i for i, t in enumerate(normalized) if t]
    result = _empty_result(len(normalized), tuple(m.labels), m.version)
    result.n_empty = len(normalized) - len(keep)
    result.empty_indices = [i for i, t in enumerate(normalized) if not t]
    if not keep:
        return result
    pad_id = getattr(m, "pad_token_id", None)
    if pad_id is None:
        pad_id = m.tokenizer.pad_token_id or 0
    # Large inputs go through in chunks (sorted by length within each), so token ids never pile up in memory.
    parts: list[np.ndarray] = []
    n_truncated = 0
    for start in range(0, len(keep), SORT_CHUNK):
        chunk = [normalized[i] for i in keep[start : start + SORT_CHUNK]]
        tokenized = tokenize(m.tokenizer, chunk, m.max_length)  # preprocess
        n_truncated += tokenized.n_truncated
        chunk_progress = None
        if progress is not None:
            chunk_progress = functools.partial(_offset_progress, progress, start, len(keep))
        parts.append(  # forward
            batched_forward(
                tokenized,
                m.logits,
                pad_token_id=pad_id,
                batch_size=batch_size,
                device=m.device,
                progress=chunk_progress,
            )
        )
    logits = np.concatenate(parts)
    # postprocess
    probs = softmax(logits.astype(np.float64)).astype(np.float32)
    best = probs.argmax(axis=1)
    keep_arr = np.asarray(keep)
    result.probs[keep_arr] = probs
    result.scores[keep_arr] = probs[np.arange(len(keep)), best]
    for pos, i in enumerate(keep):
        result.labels[i] = m.labels[int(best[pos])]
    result.n_truncated = n_truncated
    return result


def _offset_progress(progress: Callable[[int, int], None], offset: int, total: int, done: int, _n: int) -> None:
    progress(offset + done, total)


# --------------------------------------------------------------------------------------------
# Score cache in the store
# --------------------------------------------------------------------------------------------
_CHUNK = 500


def score_with_cache(
    texts: Sequence[Any],
    model_key: str | ScoringModel = "embedded",
    model_version: str | None = None,
    *,
    batch_size: int = 64,
    device: str | None = None,
    label_map: Mapping[str, str] | str | None = None,
    dtype: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[ScoreResult, int]:
    """Score texts, reusing scores cached for ``model_version``; returns (result, texts newly scored).

    ``model_version`` defaults to the loaded model's version string. Only texts whose hash is not
    cached for that version are run through the model; their scores are then stored.
    """
    from sqlalchemy import select

    from aigc_core.store import SentimentScore, get_engine, session_scope

    m = load_model(model_key, label_map=label_map, device=device, dtype=dtype)
    version = model_version or m.version
    labels = tuple(m.labels)
    texts = list(texts)
    normalized = [normalize_text(t) for t in texts]
    hashes = [hashlib.sha256(t.encode("utf-8")).hexdigest() if t else "" for t in normalized]
    unique = sorted({h for h in hashes if h})
    cached: dict[str, tuple[str, float, dict[str, Any]]] = {}
    with session_scope() as session:
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            rows = session.execute(
                select(
                    SentimentScore.text_hash, SentimentScore.label, SentimentScore.score, SentimentScore.probs
                ).where(SentimentScore.model_version == version, SentimentScore.text_hash.in_(chunk))
            ).all()
            for h, label, score, probs in rows:
                cached[h] = (label, score, probs or {})
    first_of: dict[str, int] = {}
    for i, h in enumerate(hashes):
        if h and h not in cached and h not in first_of:
            first_of[h] = i
    new_idx = list(first_of.values())
    fresh: ScoreResult | None = None
    if new_idx:
        fresh = score_texts(
            [normalized[i] for i in new_idx], model=m, batch_size=batch_size, device=device, progress=progress
        )
        rows_to_insert = []
        for pos, i in enumerate(new_idx):
            probs = {lab: float(fresh.probs[pos, j]) for j, lab in enumerate(labels)}
            label = fresh.labels[pos]
            assert label is not None
            cached[hashes[i]] = (label, float(fresh.scores[pos]), probs)
            rows_to_insert.append(
                {
                    "text_hash": hashes[i],
                    "model_version": version,
                    "label": label,
                    "score": float(fresh.scores[pos]),
                    "probs": probs,
                }
            )
        _insert_ignore(get_engine(), SentimentScore, rows_to_insert)
    result = _empty_result(len(texts), labels, version)
    result.n_truncated = fresh.n_truncated if fresh is not None else 0
    result.empty_indices = [i for i, h in enumerate(hashes) if not h]
    result.n_empty = len(result.empty_indices)
    for i, h in enumerate(hashes):
        if not h:
            continue
        label, score, probs = cached[h]
        result.labels[i] = label
        result.scores[i] = score
        result.probs[i] = [probs.get(lab, np.nan) for lab in labels]
    return result, len(new_idx)


def _insert_ignore(engine: Any, table_cls: Any, rows: list[dict[str, Any]]) -> None:
    """Bulk insert in chunks; rows another process inserted meanwhile are left as they are."""
    if not rows:
        return
    dialect = engine.dialect.name
    stmt: Insert
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table_cls).on_conflict_do_nothing(index_elements=["text_hash", "model_version"])
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table_cls).on_conflict_do_nothing(index_elements=["text_hash", "model_version"])
    else:  # pragma: no cover - other backends: plain insert
        from sqlalchemy import insert as plain_insert

        with engine.begin() as conn:
            for start in range(0, len(rows), _CHUNK):
                conn.execute(plain_insert(table_cls), rows[start : start + _CHUNK])
        return
    from aigc_core.store.models import utcnow

    now = utcnow()
    with engine.begin() as conn:
        for start in range(0, len(rows), _CHUNK):
            conn.execute(stmt, [{**r, "created_at": now} for r in rows[start : start + _CHUNK]])
