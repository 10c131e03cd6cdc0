"""Fixtures of the support tests: a deterministic bag-of-words embedder, small FAQ / document files built in
memory (PDF with a text layer, a scanned-image PDF, DOCX, HTML, Markdown) and a knowledge base built from them."""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

DIM = 256
FAQ_CSV = (
    "question,answer\n"
    "How long do refunds take?,Refunds are paid back to the original card within 14 days of us receiving the item.\n"
    "What does shipping cost?,Standard shipping costs $4.99; orders over $50 ship free.\n"
    "Can I change my delivery address?,You can change the address in your account until the parcel is dispatched.\n"
    "退货期限是多久？,自收货之日起30天内可以无理由退货。\n"
)


def fake_embed(texts: Sequence[str]) -> np.ndarray:
    """Words (and CJK characters) hashed into DIM buckets, rows L2-normalised."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for i, text in enumerate(texts):
        low = text.lower()
        for tok in re.findall(r"[a-z0-9]+", low) + re.findall(r"[\u3400-\u9fff]", low):
            out[i, zlib.crc32(tok.encode()) % DIM] += 1.0
        n = float(np.linalg.norm(out[i]))
        if n:
            out[i] /= n
        else:
            out[i, 0] = 1.0
    return out


@pytest.fixture()
def embedder() -> Any:
    """The fake embedder (pass as ``embedder=``)."""
    return fake_embed


def make_text_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with a real text layer (Helvetica), written by hand."""
    content = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({ln}) Tj T*" for ln in lines) + " ET"
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n{body}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def make_scanned_pdf() -> bytes:
    """A PDF whose only page is an image (what a scanner makes): no text layer."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(buf, "PDF")
    return buf.getvalue()


def make_docx() -> bytes:
    """A DOCX with a title, a heading and paragraphs."""
    import docx

    d = docx.Document()
    d.add_heading("Warranty policy", level=1)
    d.add_paragraph("Every kettle has a two-year warranty against defects.")
    d.add_heading("How to claim", level=2)
    d.add_paragraph("Send a photo of the receipt to our support team.")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


@pytest.fixture()
def built_kb(settings: Any) -> Any:
    """A knowledge base with the FAQ and a Markdown policy, indexed inline with the fake embedder."""
    from aigc_core.store import init_store
    from aigc_core.support import kb

    init_store()
    info = kb.create_kb("Help centre")
    md = (
        b"# Returns\n\n## Refund period\n\nReturned items are refunded within 14 days.\n\n"
        b"# Loyalty\n\nMembers earn 5% back.\n"
    )
    files = [kb.SourceFile("faq.csv", FAQ_CSV.encode()), kb.SourceFile("policy.md", md)]
    return kb.add_version(info.id, files, build="inline", embedder=fake_embed, embedding_model="fake")
