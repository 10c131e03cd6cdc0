"""Read an uploaded file (CSV, TSV, XLSX, JSON, JSONL, Parquet, TXT) into a DataFrame, with clear errors.

Encoding and delimiter are detected, returned, and can be overridden by the caller.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from aigc_core.errors import UserInputError
from aigc_core.settings import get_settings

FORMATS = ("csv", "tsv", "xlsx", "json", "jsonl", "parquet", "txt")
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "txt",
}
TEXT_FORMATS = {"csv", "tsv", "json", "jsonl", "txt"}
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "gbk", "cp1252", "latin-1", "utf-16")
DELIMITERS = (",", "\t", ";", "|")
_MAGIC = {
    b"PK\x03\x04": "xlsx",
    b"PAR1": "parquet",
    b"%PDF": "PDF",
    b"\x89PNG": "PNG image",
    b"\xff\xd8\xff": "JPEG image",
    b"\xd0\xcf\x11\xe0": "legacy Office (.xls/.doc)",
    b"\x1f\x8b": "gzip archive",
}
_HINT_FORMATS = "Upload CSV, TSV, XLSX, JSON, JSONL, Parquet or TXT (one text per line)."
MAX_ROWS = 5_000_000  # rows a Parquet upload may declare in its metadata
MAX_EXPANSION = 20  # an XLSX or Parquet may unpack to at most this many times the upload limit
MAX_ZIP_RATIO = 200  # uncompressed / compressed size of one large XLSX member (real sheets: ~5-30)
_RATIO_MIN_BYTES = 16 * 1024 * 1024  # members smaller than this may compress as well as they like


@dataclass
class ReadResult:
    """A parsed upload and how it was read."""

    df: pd.DataFrame
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped_lines: list[int] = field(default_factory=list)
    replaced_lines: int = 0
    n_bytes: int = 0


def format_for(filename: str) -> str:
    """The format implied by a file name's extension."""
    suffix = Path(filename).suffix.lower()
    fmt = EXTENSIONS.get(suffix)
    if fmt is None:
        shown = suffix or "(no extension)"
        hint = _HINT_FORMATS
        if suffix == ".xls":
            hint = "Old .xls workbooks are not supported: open it and save as .xlsx or CSV."
        raise UserInputError(f"Files of type {shown} cannot be read ({filename}).", hint=hint)
    return fmt


def _sniff_magic(raw: bytes) -> str | None:
    for magic, kind in _MAGIC.items():
        if raw.startswith(magic):
            return kind
    return None


def check_size(n_bytes: int) -> None:
    """Refuse a file over the upload limit."""
    limit = get_settings().max_upload_bytes
    if n_bytes > limit:
        raise UserInputError(
            f"The file is {n_bytes / 1e6:.1f} MB, over the upload limit of {limit / 1024 / 1024:.0f} MB.",
            hint="Split the file, remove unused columns, or raise AIGC_MAX_UPLOAD_MB.",
        )


def _utf8_non_ascii_line_ok(line: bytes) -> bool | None:
    """True if a line with non-ASCII bytes is valid UTF-8, False if not, None if the line is ASCII."""
    if line.isascii():
        return None
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(raw: bytes) -> tuple[str, int]:
    """Best encoding of ``raw`` and how many lines will need replacement characters (mixed encodings)."""
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", 0
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", 0
    try:
        raw.decode("utf-8")
        return "utf-8", 0
    except UnicodeDecodeError:
        pass
    good = bad = 0
    for line in raw.splitlines():
        ok = _utf8_non_ascii_line_ok(line)
        if ok is True:
            good += 1
        elif ok is False:
            bad += 1
    if good and good >= bad:  # mostly UTF-8 with some lines in another encoding
        return "utf-8", bad
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:2_000_000], cp_isolation=["gb18030", "cp1252", "latin_1"]).best()
    guess = (best.encoding if best else "cp1252").replace("_", "-")
    for enc in (guess, "cp1252", "latin-1"):
        try:
            raw.decode(enc)
            return ("latin-1" if enc == "latin-1" else enc), 0
        except (UnicodeDecodeError, LookupError):
            continue
    return "latin-1", 0  # pragma: no cover - latin-1 decodes every byte


def decode(raw: bytes, encoding: str | None = None) -> tuple[str, str, int, list[str]]:
    """Text of ``raw``: (text, encoding used, lines with replacement characters, warnings)."""
    warnings: list[str] = []
    replaced = 0
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise UserInputError(f"Unknown encoding {encoding!r}.", hint=f"Use one of {', '.join(ENCODINGS)}.") from exc
    else:
        encoding, replaced = detect_encoding(raw)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        text = raw.decode(encoding, errors="replace")
        replaced = replaced or sum(1 for line in text.splitlines() if "\ufffd" in line)
    else:
        if replaced:  # detect_encoding found mixed encodings; encoding is utf-8 here
            text = raw.decode(encoding, errors="replace")
    if replaced:
        warnings.append(
            f"{replaced} line(s) are not valid {encoding} (mixed encodings?); unreadable characters were "
            "replaced with �. Pick another encoding if most of the text looks wrong."
        )
    return text, encoding, replaced, warnings


def sniff_delimiter(text: str, default: str = ",") -> str:
    """The most likely delimiter of a delimited text (comma, tab, semicolon or pipe)."""
    sample = "\n".join(text[:65536].splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        counts = {d: first.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else default


def _unpacked_limit() -> int:
    return MAX_EXPANSION * get_settings().max_upload_bytes


def check_xlsx_bomb(raw: bytes) -> None:
    """Refuse an XLSX whose zip members would unpack to too much data (a zip bomb).

    The sizes come from the zip directory; Python's zipfile never inflates a member past its stated size.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip: the reader reports it as damaged
    total = sum(m.file_size for m in members)
    limit = _unpacked_limit()
    hint = "Open it in Excel/LibreOffice and save it as CSV, or split it into smaller workbooks."
    if total > limit:
        raise UserInputError(
            f"The XLSX file unpacks to {total / 2**20:,.0f} MB, over the limit of {limit / 2**20:,.0f} MB "
            f"({MAX_EXPANSION}× the upload limit).",
            hint=hint + " The limit grows with AIGC_MAX_UPLOAD_MB.",
        )
    for m in members:
        ratio = m.file_size / max(m.compress_size, 1)
        if m.file_size > _RATIO_MIN_BYTES and ratio > MAX_ZIP_RATIO:
            raise UserInputError(
                f"The XLSX member {m.filename!r} is compressed {ratio:,.0f}:1 (at most {MAX_ZIP_RATIO}:1 is "
                "accepted); the file looks like a zip bomb, not a workbook.",
                hint=hint,
            )


def check_parquet_size(raw: bytes, filename: str) -> None:
    """Refuse a Parquet file whose metadata declares more than MAX_ROWS rows or too much data."""
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(io.BytesIO(raw)).metadata
    except Exception:  # damaged: the reader reports it
        return
    hint = "Filter or sample it before uploading (e.g. with pandas or DuckDB), or split it into several files."
    if meta.num_rows > MAX_ROWS:
        raise UserInputError(
            f"{filename} has {meta.num_rows:,} rows; at most {MAX_ROWS:,} rows can be read.", hint=hint
        )
    unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    limit = _unpacked_limit()
    if unpacked > limit:
        raise UserInputError(
            f"{filename} unpacks to {unpacked / 2**20:,.0f} MB, over the limit of {limit / 2**20:,.0f} MB "
            f"({MAX_EXPANSION}× the upload limit).",
            hint=hint,
        )


def list_sheets(raw: bytes) -> list[str]:
    """Sheet names of an XLSX workbook; UserInputError when it is damaged or a zip bomb."""
    import openpyxl

    check_xlsx_bomb(raw)
    try:
        wb = openpyxl.load_workbook(io.BytesIO(raw), read_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UserInputError(
            "The XLSX file is damaged or truncated and cannot be opened.",
            hint="Upload it again, or open it in Excel/LibreOffice and save a fresh copy.",
        ) from exc
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def _check_binary(raw: bytes, fmt: str, filename: str) -> None:
    kind = _sniff_magic(raw)
    if kind is not None and kind != fmt:
        if kind in ("xlsx", "parquet"):
            raise UserInputError(
                f"{filename} has a .{fmt} extension but looks like a {kind.upper()} file.",
                hint=f"Rename it to end in .{kind} and upload it again.",
            )
        raise UserInputError(f"{filename} looks like a {kind}, not a {fmt.upper()} text file.", hint=_HINT_FORMATS)
    head = raw[:8192]
    if fmt in TEXT_FORMATS and b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UserInputError(
            f"{filename} looks like a binary file, not {fmt.upper()} text.",
            hint="Check that you picked the right file; " + _HINT_FORMATS,
        )


def _nonempty(df: pd.DataFrame, filename: str) -> pd.DataFrame:
    if df.shape[1] == 0:
        raise UserInputError(f"{filename} has no columns.", hint="Upload a file with a header row and data rows.")
    if len(df) == 0:
        raise UserInputError(
            f"{filename} has a header ({', '.join(map(str, df.columns[:8]))}) but no data rows.",
            hint="Upload a file with at least one row under the header.",
        )
    df.columns = [str(c).strip() or f"column_{i}" for i, c in enumerate(df.columns)]
    return df


def _read_delimited(text: str, delimiter: str, skip_bad_lines: bool, filename: str) -> tuple[pd.DataFrame, list[int]]:
    skipped: list[int] = []
    buf = io.StringIO(text)
    try:
        if skip_bad_lines:
            # the python engine lets us count the skipped lines; only used when the user asked to skip
            def _bad(line: list[str]) -> None:
                skipped.append(len(skipped) + 1)
                return None

            df = pd.read_csv(buf, sep=delimiter, engine="python", on_bad_lines=_bad, index_col=False)
        else:
            df = pd.read_csv(buf, sep=delimiter, low_memory=False)
    except pd.errors.EmptyDataError as exc:
        raise UserInputError(f"{filename} is empty.", hint="Upload a file with a header row and data rows.") from exc
    except pd.errors.ParserError as exc:
        raise UserInputError(
            f"{filename} could not be parsed with delimiter {delimiter!r}: {exc}".strip(),
            hint="Pick another delimiter, fix the line named above, or tick 'skip bad lines'.",
        ) from exc
    return df, skipped


def _read_jsonl(text: str, skip_bad_lines: bool, filename: str) -> tuple[pd.DataFrame, list[int]]:
    rows: list[dict[str, object]] = []
    skipped: list[int] = []
    for no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            if skip_bad_lines:
                skipped.append(no)
                continue
            raise UserInputError(
                f"Line {no} of {filename} is not valid JSON ({exc.msg} at column {exc.colno}).",
                hint="Fix that line, or tick 'skip bad lines' to leave it out.",
            ) from exc
        rows.append(obj if isinstance(obj, dict) else {"value": obj})
    return pd.DataFrame(rows), skipped


def _read_json(text: str, filename: str) -> pd.DataFrame:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserInputError(
            f"{filename} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}).",
            hint="Fix the file, or save it as JSONL (one object per line) to skip broken records.",
        ) from exc
    if isinstance(obj, dict):
        lists = [v for v in obj.values() if isinstance(v, list)]
        if len(lists) == 1:
            obj = lists[0]
        elif all(isinstance(v, list) for v in obj.values()):
            return pd.DataFrame(obj)
        else:
            obj = [obj]
    if not isinstance(obj, list):
        raise UserInputError(f"{filename} holds a single value, not records.", hint="Use a list of objects.")
    return pd.DataFrame([o if isinstance(o, dict) else {"value": o} for o in obj])


def read_file(
    data: bytes | Path | str,
    filename: str | None = None,
    *,
    fmt: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    skip_bad_lines: bool = False,
) -> ReadResult:
    """Read an uploaded file; ``encoding``, ``delimiter`` and ``sheet`` override what is detected."""
    if isinstance(data, (str, Path)):
        path = Path(data)
        filename = filename or path.name
        check_size(path.stat().st_size)
        raw = path.read_bytes()
    else:
        raw = data
        filename = filename or "upload"
    check_size(len(raw))
    fmt = fmt or format_for(filename)
    if fmt not in FORMATS:
        raise UserInputError(f"Unknown format {fmt!r}.", hint=_HINT_FORMATS)
    if not raw.strip():
        raise UserInputError(f"{filename} is empty.", hint="Upload a file with a header row and data rows.")
    _check_binary(raw, fmt, filename)
    res = ReadResult(df=pd.DataFrame(), format=fmt, n_bytes=len(raw))
    if fmt == "xlsx":
        res.sheets = list_sheets(raw)  # refuses zip bombs before anything is inflated
        res.sheet = sheet or res.sheets[0]
        if res.sheet not in res.sheets:
            raise UserInputError(f"There is no sheet {res.sheet!r}.", hint=f"Pick one of {', '.join(res.sheets)}.")
        try:
            res.df = pd.read_excel(io.BytesIO(raw), sheet_name=res.sheet, engine="openpyxl")
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise UserInputError(
                "The XLSX file is damaged or truncated.", hint="Open it in Excel/LibreOffice and save a fresh copy."
            ) from exc
        if len(res.sheets) > 1:
            res.warnings.append(f"The workbook has {len(res.sheets)} sheets; reading {res.sheet!r}.")
    elif fmt == "parquet":
        check_parquet_size(raw, filename)
        try:
            res.df = pd.read_parquet(io.BytesIO(raw))
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise UserInputError(
                f"{filename} is not a readable Parquet file ({type(exc).__name__}).",
                hint="Upload it again; if it was cut off while copying, export it once more.",
            ) from exc
    else:
        text, res.encoding, res.replaced_lines, warns = decode(raw, encoding)
        res.warnings.extend(warns)
        if fmt in ("csv", "tsv"):
            res.delimiter = delimiter or ("\t" if fmt == "tsv" else sniff_delimiter(text))
            res.df, res.skipped_lines = _read_delimited(text, res.delimiter, skip_bad_lines, filename)
        elif fmt == "jsonl":
            res.df, res.skipped_lines = _read_jsonl(text, skip_bad_lines, filename)
        elif fmt == "json":
            res.df = _read_json(text, filename)
        else:  # txt: one text per line
            lines = text.splitlines()
            kept = [ln for ln in lines if ln.strip()]
            if len(kept) < len(lines):
                res.warnings.append(f"{len(lines) - len(kept)} blank line(s) were left out.")
            res.df = pd.DataFrame({"text": pd.Series(kept, dtype="str")})
        if res.skipped_lines:
            shown = ", ".join(map(str, res.skipped_lines[:10]))
            where = f"line(s) {shown}" if fmt == "jsonl" else f"{len(res.skipped_lines)} line(s)"
            res.warnings.append(f"Skipped {len(res.skipped_lines)} broken line(s): {where}.")
    res.df = _nonempty(res.df, filename)
    return res
