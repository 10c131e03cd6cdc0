"""Read knowledge-base sources: an FAQ table (question, answer), past tickets (question, the reply that was sent)
and documents (Markdown, TXT, HTML, PDF, DOCX) into :class:`Source` objects made of headed blocks of text.

Tables go through :mod:`aigc_core.data.readers` (encodings, delimiters, XLSX and its zip-bomb checks). Every
error is a :class:`UserInputError` naming the file and what to do."""

from __future__ import annotations

import contextlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar, Literal

import pandas as pd

from aigc_core.data import readers
from aigc_core.errors import UserInputError

Kind = Literal["faq", "tickets", "document"]
KINDS: tuple[Kind | Literal["auto"], ...] = ("auto", "faq", "tickets", "document")
DOCUMENT_FORMATS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
TABLE_EXTENSIONS = {ext for ext, fmt in readers.EXTENSIONS.items() if fmt != "txt"}
QUESTION_COLUMNS = ("question", "questions", "q", "faq", "query", "title", "问题", "问", "提问", "标题")
ANSWER_COLUMNS = ("answer", "answers", "a", "response", "solution", "答案", "回答", "答复", "解答")
TICKET_COLUMNS = (
    "ticket", "message", "customer_message", "request", "body", "text", "question", "工单", "问题", "内容",
)  # fmt: skip
REPLY_COLUMNS = ("reply", "sent_reply", "best_reply", "agent_reply", "response", "answer", "回复", "答复", "回答")
MAX_DOCX_UNPACKED = 20  # a DOCX may unpack to at most this many times the upload limit
_HINT_FORMATS = (
    "Upload an FAQ or tickets table (CSV, TSV, XLSX, JSON, JSONL, Parquet) or a document (MD, TXT, HTML, PDF, DOCX)."
)


@dataclass
class Block:
    """A run of text under its headings (outermost first); ``page`` for PDFs."""

    text: str
    headings: list[str] = field(default_factory=list)
    page: int | None = None
    meta: dict[str, str] = field(default_factory=dict)


@dataclass
class Source:
    """One parsed file: its name, kind, title and blocks (an FAQ entry or a ticket is one block)."""

    name: str
    kind: Kind
    title: str
    blocks: list[Block]
    n_bytes: int = 0
    warnings: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------
# Tables: FAQ and past tickets
# ------------------------------------------------------------------------------------------------
def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "_", str(name).strip().lower())


def find_column(columns: list[str], wanted: tuple[str, ...], chosen: str | None = None) -> str | None:
    """The column matching ``chosen`` (case-insensitive) or else the first of ``wanted`` present."""
    by_norm = {_norm(c): c for c in columns}
    if chosen:
        return by_norm.get(_norm(chosen))
    for w in wanted:
        if _norm(w) in by_norm:
            return by_norm[_norm(w)]
    return None


def _missing_column(filename: str, role: str, columns: list[str], wanted: tuple[str, ...], chosen: str | None) -> None:
    shown = ", ".join(map(str, columns[:12]))
    what = f"the column {chosen!r}" if chosen else f"an {role} column" if role[0] in "aeiou" else f"a {role} column"
    raise UserInputError(
        f"{filename} has no {role} column: found {shown}; looked for {what}.",
        hint=f"Name the column '{wanted[0]}' (or one of {', '.join(wanted[1:5])}), or pick it in the "
        f"{role} column box.",
    )


def _table_kind(columns: list[str]) -> Kind:
    """Tickets when the table has a reply column and a ticket column, else FAQ."""
    has_reply = find_column(columns, ("reply", "sent_reply", "best_reply", "agent_reply", "回复")) is not None
    has_ticket = find_column(columns, ("ticket", "message", "customer_message", "request", "工单")) is not None
    return "tickets" if has_reply and has_ticket else "faq"


def read_table_source(
    raw: bytes,
    filename: str,
    kind: Kind | Literal["auto"] = "auto",
    *,
    question_column: str | None = None,
    answer_column: str | None = None,
) -> Source:
    """An FAQ (question, answer) or a table of past tickets (ticket text, the reply sent) as one block per row."""
    res = readers.read_file(raw, filename)
    df = res.df
    columns = [str(c) for c in df.columns]
    if kind == "auto":
        kind = _table_kind(columns)
    q_names, a_names = (QUESTION_COLUMNS, ANSWER_COLUMNS) if kind == "faq" else (TICKET_COLUMNS, REPLY_COLUMNS)
    role_q, role_a = ("question", "answer") if kind == "faq" else ("ticket", "reply")
    q_col = find_column(columns, q_names, question_column)
    if q_col is None:
        _missing_column(filename, role_q, columns, q_names, question_column)
    a_col = find_column([c for c in columns if c != q_col], a_names, answer_column)
    if a_col is None:
        _missing_column(filename, role_a, columns, a_names, answer_column)
    blocks: list[Block] = []
    skipped = 0
    for q, a in zip(df[q_col].tolist(), df[a_col].tolist(), strict=True):
        q_text = "" if pd.isna(q) else " ".join(str(q).split())
        a_text = "" if pd.isna(a) else str(a).strip()
        if not q_text or not a_text:
            skipped += 1
            continue
        blocks.append(Block(text=a_text, headings=[q_text], meta={role_q: q_text, role_a: a_text}))
    if not blocks:
        raise UserInputError(
            f"{filename} has no row with both a {role_q} ({q_col!r}) and an {role_a} ({a_col!r}).",
            hint=f"Fill in the {role_a}s, or check that the right columns were picked.",
        )
    warnings = list(res.warnings)
    if skipped:
        warnings.append(f"{skipped} row(s) without a {role_q} or an {role_a} were left out.")
    title = Path(filename).stem
    return Source(filename, kind, title, blocks, n_bytes=len(raw), warnings=warnings)


# ------------------------------------------------------------------------------------------------
# Documents
# ------------------------------------------------------------------------------------------------
_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPH = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_NUMBERED_HEADING = re.compile(r"^\s*(?:\d+(?:\.\d+)*\.?|[A-Z]\.|第[一二三四五六七八九十\d]+[章节条])\s+\S")
_TERMINAL = tuple(".!?;:。！？；：,，")


def _clean_md(line: str) -> str:
    line = _MD_LINK.sub(lambda m: m.group(1), line)
    return _MD_EMPH.sub(lambda m: m.group(2), line)


def _looks_like_heading(line: str, next_line: str | None) -> bool:
    """A short line without final punctuation followed by text: a heading in plain text or a PDF."""
    s = line.strip()
    if not s or len(s) > 80 or s.endswith(_TERMINAL) or next_line is None or not next_line.strip():
        return False
    if _NUMBERED_HEADING.match(s):
        return True
    words = s.split()
    return len(words) <= 8 and (s.isupper() or sum(w[:1].isupper() for w in words) >= max(1, len(words) - 1))


class _Builder:
    """Collects paragraphs under a heading stack."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.headings: list[tuple[int, str]] = []
        self.buf: list[str] = []
        self.page: int | None = None

    def heading(self, level: int, text: str) -> None:
        self.flush()
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
        self.headings.append((level, " ".join(text.split())))

    def line(self, text: str) -> None:
        if text.strip():
            self.buf.append(text.strip())
        else:
            self.flush()

    def flush(self) -> None:
        text = "\n".join(self.buf).strip()
        self.buf = []
        if text:
            self.blocks.append(Block(text=text, headings=[h for _, h in self.headings], page=self.page))


def _plain_lines(text: str, b: _Builder, *, guess_headings: bool = True) -> None:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if guess_headings and _looks_like_heading(line, nxt) and (i == 0 or not lines[i - 1].strip() or b.page):
            b.heading(2 if b.headings else 1, line.strip())
        else:
            b.line(line)
    b.flush()


def _markdown(text: str) -> _Builder:
    b = _Builder()
    lines = text.splitlines()
    in_code = False
    for i, line in enumerate(lines):
        if line.strip().startswith(("```", "~~~")):
            in_code = not in_code
            continue
        m = None if in_code else _MD_HEADING.match(line)
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if m:
            b.heading(len(m.group(1)), _clean_md(m.group(2)))
        elif not in_code and line.strip() and re.fullmatch(r"\s*(=+|-+)\s*", nxt) and not b.buf:
            b.heading(1 if nxt.strip().startswith("=") else 2, _clean_md(line))
        elif not in_code and re.fullmatch(r"\s*(=+|-+)\s*", line) and i and b.headings:
            continue  # the underline of a setext heading
        else:
            b.line(line if in_code else _clean_md(re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", line)))
    b.flush()
    return b


class _HTML(HTMLParser):
    SKIP: ClassVar[set[str]] = {"script", "style", "nav", "footer", "head", "noscript", "svg", "template"}
    BLOCK: ClassVar[set[str]] = {
        "p",
        "div",
        "li",
        "tr",
        "br",
        "section",
        "article",
        "table",
        "ul",
        "ol",
        "dd",
        "dt",
        "blockquote",
        "pre",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.b = _Builder()
        self.skip = 0
        self.level: int | None = None
        self.text: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skip += 1
        if tag == "title":
            self._in_title = True
        if re.fullmatch(r"h[1-6]", tag):
            self._para()
            self.level = int(tag[1])
        elif tag in self.BLOCK:
            self._para()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skip:
            self.skip -= 1
        if tag == "title":
            self._in_title = False
        if re.fullmatch(r"h[1-6]", tag) and self.level is not None:
            text = " ".join("".join(self.text).split())
            self.text = []
            if text:
                self.b.heading(self.level, text)
            self.level = None
        elif tag in self.BLOCK:
            self._para()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self.skip:
            self.text.append(data)

    def _para(self) -> None:
        if self.level is not None:
            return
        text = " ".join("".join(self.text).split())
        self.text = []
        if text:
            self.b.line(text)
            self.b.flush()


def _check_docx_bomb(raw: bytes, filename: str) -> None:
    from aigc_core.settings import get_settings

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            total = sum(m.file_size for m in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UserInputError(
            f"{filename} is not a readable DOCX file (damaged, or an old .doc renamed?).",
            hint="Open it in Word/LibreOffice and save it as .docx again.",
        ) from exc
    limit = MAX_DOCX_UNPACKED * get_settings().max_upload_bytes
    if total > limit:
        raise UserInputError(
            f"{filename} unpacks to {total / 2**20:,.0f} MB, over the limit of {limit / 2**20:,.0f} MB.",
            hint="Split the document, or save it as PDF or TXT.",
        )


def _docx(raw: bytes, filename: str) -> tuple[_Builder, str]:
    import docx

    _check_docx_bomb(raw, filename)
    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # python-docx raises several types for damaged files
        raise UserInputError(
            f"{filename} is not a readable DOCX file ({type(exc).__name__}).",
            hint="Open it in Word/LibreOffice and save it as .docx again.",
        ) from exc
    b = _Builder()
    title = (document.core_properties.title or "").strip()
    for para in document.paragraphs:
        style = (para.style.name if para.style is not None else "") or ""
        m = re.match(r"(?:Heading|标题)\s*(\d)", style)
        if style == "Title":
            title = title or para.text.strip()
            b.heading(1, para.text)
        elif m and para.text.strip():
            b.heading(int(m.group(1)) + (1 if title else 0), para.text)
        else:
            b.line(para.text)
            b.flush()
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                b.line(" | ".join(dict.fromkeys(cells)))
        b.flush()
    return b, title


def _pdf(raw: bytes, filename: str) -> _Builder:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        pdf = PdfReader(io.BytesIO(raw))
        if pdf.is_encrypted and not pdf.decrypt(""):
            raise UserInputError(f"{filename} is password-protected.", hint="Save an unprotected copy and upload that.")
        pages = list(pdf.pages)
    except UserInputError:
        raise
    except (PdfReadError, OSError, ValueError, KeyError) as exc:
        raise UserInputError(
            f"{filename} is not a readable PDF ({type(exc).__name__}).", hint="Export the PDF again and upload it."
        ) from exc
    if not pages:
        raise UserInputError(f"{filename} has no pages.", hint="Upload a PDF with text in it.")
    b = _Builder()
    n_images = 0
    for no, page in enumerate(pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception:  # one broken page: skip it, the check below reports a PDF without any text
            text = ""
        with contextlib.suppress(Exception):
            n_images += len(page.images)
        b.page = no
        _plain_lines(text, b)
    if not b.blocks:
        if n_images:
            raise UserInputError(
                f"{filename} has no text layer: its {len(pages)} page(s) are scanned images.",
                hint="Run OCR on it first (e.g. ocrmypdf), or upload the text as DOCX, TXT or Markdown.",
            )
        raise UserInputError(f"{filename} has no text ({len(pages)} empty page(s)).", hint="Upload a PDF with text.")
    return b


def read_document(raw: bytes, filename: str) -> Source:
    """A document (Markdown, TXT, HTML, PDF or DOCX) as blocks under their headings."""
    suffix = Path(filename).suffix.lower()
    fmt = DOCUMENT_FORMATS.get(suffix)
    if fmt is None:
        raise UserInputError(f"Files of type {suffix or '(none)'} cannot be read ({filename}).", hint=_HINT_FORMATS)
    warnings: list[str] = []
    title = ""
    if fmt == "pdf":
        if not raw.startswith(b"%PDF"):
            raise UserInputError(f"{filename} does not look like a PDF.", hint="Export the PDF again and upload it.")
        b = _pdf(raw, filename)
    elif fmt == "docx":
        b, title = _docx(raw, filename)
    else:
        if b"\x00" in raw[:8192] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise UserInputError(f"{filename} looks like a binary file, not text.", hint=_HINT_FORMATS)
        text, _enc, _rep, warnings = readers.decode(raw)
        if fmt == "markdown":
            b = _markdown(text)
        elif fmt == "html":
            parser = _HTML()
            parser.feed(text)
            parser.close()
            parser._para()
            b = parser.b
            b.flush()
            title = " ".join(parser.title.split())
        else:
            b = _Builder()
            _plain_lines(text, b)
    if not b.blocks:
        raise UserInputError(f"{filename} has no text.", hint="Upload a document with some text in it.")
    first_heading = next((blk.headings[0] for blk in b.blocks if blk.headings), "")
    title = title or first_heading or Path(filename).stem
    return Source(filename, "document", title, b.blocks, n_bytes=len(raw), warnings=warnings)


def read_source(
    raw: bytes,
    filename: str,
    kind: str = "auto",
    *,
    question_column: str | None = None,
    answer_column: str | None = None,
) -> Source:
    """Any knowledge-base file: a table (FAQ or tickets) or a document; refuses files over the upload limit."""
    if kind not in KINDS:
        raise UserInputError(f"Unknown source kind {kind!r}.", hint=f"Use one of {', '.join(KINDS)}.")
    readers.check_size(len(raw))
    if not raw.strip():
        raise UserInputError(f"{filename} is empty.", hint="Upload a file with some text in it.")
    suffix = Path(filename).suffix.lower()
    if suffix in TABLE_EXTENSIONS:
        if kind == "document":
            raise UserInputError(f"{filename} is a table, not a document.", hint="Pick 'FAQ' or 'tickets' as its kind.")
        return read_table_source(
            raw,
            filename,
            kind,
            question_column=question_column,
            answer_column=answer_column,
        )
    if suffix in DOCUMENT_FORMATS:
        if kind in ("faq", "tickets"):
            raise UserInputError(
                f"{filename} is a document, not a table.",
                hint="Upload the FAQ or tickets as CSV or XLSX with question and answer columns.",
            )
        return read_document(raw, filename)
    raise UserInputError(f"Files of type {suffix or '(none)'} cannot be read ({filename}).", hint=_HINT_FORMATS)
