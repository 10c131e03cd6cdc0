"""Command line: ``python -m aigc_core.sentiment score INPUT --text-column text --model embedded -o OUTPUT.csv``.

OUTPUT keeps every input column and adds ``label``, ``score`` and ``prob_<class>`` per class.
Exit codes: 0 success, 2 bad input (file, column, format, option), 3 model unavailable, 1 unexpected error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from aigc_core.errors import AigcError, ModelUnavailableError, NotFoundError, UserInputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

WRITE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".parquet")


def read_table(path: Path) -> pd.DataFrame:
    """Read INPUT with the Data page's readers (any format it reads, encoding and delimiter detected)."""
    from aigc_core.data.readers import read_file

    if not path.exists():
        raise UserInputError(f"Input file {path} does not exist.", hint="Check the path.")
    if path.is_dir():
        raise UserInputError(f"Input {path} is a folder, not a file.", hint="Give one data file.")
    result = read_file(path, path.name)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return result.df


def write_table(df: pd.DataFrame, path: Path) -> None:
    """Write OUTPUT atomically in the format its suffix names."""
    from aigc_core.storage import atomic_path

    suffix = path.suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise UserInputError(
            f"Cannot write {path.name}: unknown output format {suffix or '(no extension)'}.",
            hint=f"Use one of {', '.join(WRITE_SUFFIXES)}.",
        )
    try:
        with atomic_path(path) as tmp:
            if suffix == ".csv":
                df.to_csv(tmp, index=False)
            elif suffix == ".tsv":
                df.to_csv(tmp, index=False, sep="\t")
            elif suffix == ".jsonl":
                df.to_json(tmp, orient="records", lines=True, force_ascii=False)
            else:
                df.to_parquet(tmp, index=False)
    except OSError as exc:
        raise UserInputError(
            f"Cannot write {path}: {exc.strerror or exc}.", hint="Check the folder exists and is writable."
        ) from exc


def score_file(
    input_path: Path,
    output_path: Path,
    *,
    text_column: str = "text",
    model: str = "embedded",
    label_map: str | None = None,
    batch_size: int = 64,
    device: str | None = None,
    dtype: str | None = None,
) -> dict[str, float | int | str]:
    """Score one file into another; returns counts for the summary line."""
    from aigc_core.sentiment.scoring import score_texts

    if batch_size < 1:
        raise UserInputError(f"--batch-size must be at least 1, not {batch_size}.", hint="Use e.g. 64.")
    df = read_table(input_path)
    if text_column not in df.columns:
        cols = ", ".join(map(str, df.columns)) or "(none)"
        raise UserInputError(
            f"Column {text_column!r} is not in {input_path.name}.",
            hint=f"Available columns: {cols}. Pass one with --text-column.",
        )
    t0 = time.perf_counter()
    result = score_texts(
        df[text_column].tolist(), model=model, batch_size=batch_size, device=device, label_map=label_map, dtype=dtype
    )
    elapsed = time.perf_counter() - t0
    scores = result.to_frame()
    scores.index = df.index
    clashes = [c for c in scores.columns if c in df.columns]
    out = df.drop(columns=clashes).join(scores)
    write_table(out, output_path)
    return {
        "rows": len(df),
        "scored": result.n_scored,
        "empty": result.n_empty,
        "truncated": result.n_truncated,
        "seconds": elapsed,
        "replaced_columns": ",".join(map(str, clashes)),
        "model_version": result.model_version,
    }


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (``score`` sub-command)."""
    parser = argparse.ArgumentParser(prog="python -m aigc_core.sentiment", description="Score texts for sentiment.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("score", help="score a file's text column and write it with label, score and probabilities")
    s.add_argument("input", type=Path, help="data file (CSV, TSV, JSON, JSONL, Parquet, XLSX, TXT)")
    s.add_argument("--text-column", default="text", help="column holding the texts (default: text)")
    s.add_argument(
        "--model", default="embedded", help="embedded (default), a model folder, a hub id or registry:<version id>"
    )
    s.add_argument("-o", "--output", type=Path, required=True, help="output file (.csv, .tsv, .jsonl, .parquet)")
    s.add_argument(
        "--label-map", default=None, help="map model labels to sentiment, e.g. LABEL_0=negative,LABEL_1=neutral,..."
    )
    s.add_argument("--batch-size", type=int, default=64)
    s.add_argument("--device", default=None, help="auto, cpu, cuda, cuda:N or mps (default: AIGC_DEVICE)")
    s.add_argument(
        "--dtype",
        default=None,
        choices=["auto", "float32", "bfloat16", "float16"],
        help="precision (default: AIGC_DTYPE; bfloat16 is ~3x faster on CPUs with native bf16)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; errors print one line on stderr and return a non-zero code."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        info = score_file(
            args.input,
            args.output,
            text_column=args.text_column,
            model=args.model,
            label_map=args.label_map,
            batch_size=args.batch_size,
            device=args.device,
            dtype=args.dtype,
        )
    except (ModelUnavailableError, NotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except AigcError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        print(
            f"error: unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr
        )
        return 1
    note = f"; replaced existing column(s) {info['replaced_columns']}" if info["replaced_columns"] else ""
    print(
        f"scored {info['scored']} of {info['rows']} rows "
        f"({info['empty']} empty skipped, {info['truncated']} truncated) "
        f"with {info['model_version']} in {info['seconds']:.1f}s -> {args.output}{note}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
