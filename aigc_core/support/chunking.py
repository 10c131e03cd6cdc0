"""Cut sources into passages for retrieval: an FAQ entry or a ticket is one passage; a document's blocks are
packed into passages of at most ``max_chars`` under one heading path, and every passage starts with its headings,
so a passage found alone still says what it is about. Each chunk keeps its source, title and position."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from aigc_core.support.sources import Source

MAX_CHARS = 900
_SENTENCE = re.compile(r"(?<=[.!?。！？；;])\s+|(?<=[。！？；])")


@dataclass
class Chunk:
    """One passage of a knowledge base."""

    text: str  # what is indexed and shown (headings first)
    source: str  # file name
    kind: str  # faq | tickets | document
    title: str  # the FAQ question, the ticket, or the document title
    heading: str  # "Returns > Refunds" (documents), the question (FAQ)
    position: int  # order of the chunk within its source (0-based)
    page: int | None = None
    body: str = ""  # the text without the headings (FAQ: the answer)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        """The chunk written by :meth:`to_dict`."""
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def _split_long(text: str, max_chars: int) -> list[str]:
    """Split one over-long block at sentence ends (or hard, for a run without any)."""
    parts: list[str] = []
    cur = ""
    for sent in (s for s in _SENTENCE.split(text) if s and s.strip()):
        while len(sent) > max_chars:
            if cur:
                parts.append(cur)
                cur = ""
            parts.append(sent[:max_chars])
            sent = sent[max_chars:]
        if cur and len(cur) + 1 + len(sent) > max_chars:
            parts.append(cur)
            cur = sent
        else:
            cur = f"{cur} {sent}".strip() if cur else sent
    if cur:
        parts.append(cur)
    return parts


def _doc_chunks(src: Source, max_chars: int) -> list[Chunk]:
    groups: list[tuple[list[str], int | None, list[str]]] = []  # (headings, page, texts)
    for blk in src.blocks:
        pieces = _split_long(blk.text, max_chars) if len(blk.text) > max_chars else [blk.text]
        for piece in pieces:
            last = groups[-1] if groups else None
            if (
                last is not None
                and last[0] == blk.headings
                and last[1] == blk.page
                and sum(len(t) + 1 for t in last[2]) + len(piece) <= max_chars
            ):
                last[2].append(piece)
            else:
                groups.append((list(blk.headings), blk.page, [piece]))
    out: list[Chunk] = []
    for pos, (headings, page, texts) in enumerate(groups):
        heading = " > ".join(headings)
        body = "\n".join(texts)
        text = f"{heading}\n{body}" if heading else body
        out.append(Chunk(text, src.name, src.kind, src.title, heading, pos, page, body))
    return out


def _row_chunks(src: Source) -> list[Chunk]:
    out = []
    for pos, blk in enumerate(src.blocks):
        question = blk.headings[0] if blk.headings else ""
        text = f"{question}\n{blk.text}" if src.kind == "faq" else f"Customer: {question}\nReply: {blk.text}"
        out.append(Chunk(text, src.name, src.kind, question, question, pos, None, blk.text, dict(blk.meta)))
    return out


def chunk_source(src: Source, max_chars: int = MAX_CHARS) -> list[Chunk]:
    """The passages of one source, in order."""
    if max_chars < 100:
        raise ValueError("max_chars must be at least 100")
    return _doc_chunks(src, max_chars) if src.kind == "document" else _row_chunks(src)


def chunk_sources(sources: list[Source], max_chars: int = MAX_CHARS) -> list[Chunk]:
    """The passages of several sources, source after source."""
    return [c for src in sources for c in chunk_source(src, max_chars)]
