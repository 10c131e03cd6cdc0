"""Readers and chunker: FAQ and tickets tables, Markdown, TXT, HTML, PDF, DOCX; bad files give clear errors."""

from __future__ import annotations

import pytest

from aigc_core.errors import UserInputError
from aigc_core.support.chunking import chunk_source
from aigc_core.support.sources import read_source
from tests.support.conftest import FAQ_CSV, make_docx, make_scanned_pdf, make_text_pdf


def test_faq_table_gives_one_chunk_per_entry(settings) -> None:
    src = read_source(FAQ_CSV.encode(), "faq.csv")
    chunks = chunk_source(src)
    assert src.kind == "faq" and len(chunks) == 4
    assert chunks[1].title == "What does shipping cost?" and "$4.99" in chunks[1].body
    assert chunks[1].text.startswith("What does shipping cost?\n") and chunks[1].position == 1
    assert chunks[3].source == "faq.csv" and "30天" in chunks[3].body


def test_faq_without_answer_column_names_it(settings) -> None:
    with pytest.raises(UserInputError, match="no answer column") as exc:
        read_source(b"question,notes\nHow?,internal\n", "faq.csv")
    assert "question, notes" in exc.value.message and "answer" in exc.value.hint


def test_faq_with_chosen_columns_and_xlsx(settings) -> None:
    import io

    import pandas as pd

    buf = io.BytesIO()
    pd.DataFrame({"Frage": ["Wie lange?"], "Antwort": ["14 Tage."]}).to_excel(buf, index=False)
    src = read_source(buf.getvalue(), "faq.xlsx", "faq", question_column="frage", answer_column="Antwort")
    assert src.blocks[0].headings == ["Wie lange?"] and src.blocks[0].text == "14 Tage."
    with pytest.raises(UserInputError, match="no question column"):
        read_source(buf.getvalue(), "faq.xlsx", "faq", question_column="missing")


def test_past_tickets_are_read_as_question_and_reply(settings) -> None:
    raw = b"ticket,sent_reply\nMy parcel is late,Sorry! Parcels can take up to 5 working days.\n"
    src = read_source(raw, "tickets.csv")
    chunk = chunk_source(src)[0]
    assert (
        src.kind == "tickets"
        and chunk.text == "Customer: My parcel is late\nReply: Sorry! Parcels can take up to 5 working days."
    )


def test_markdown_keeps_headings_with_their_text(settings) -> None:
    md = b"# Returns\n\nIntro text.\n\n## Refunds\n\nRefunds take **14 days**.\n\n# Shipping\n\nWe ship daily.\n"
    chunks = chunk_source(read_source(md, "policy.md"))
    assert [c.heading for c in chunks] == ["Returns", "Returns > Refunds", "Shipping"]
    assert chunks[1].text == "Returns > Refunds\nRefunds take 14 days." and chunks[1].title == "Returns"
    assert [c.position for c in chunks] == [0, 1, 2]


def test_long_section_is_split_at_sentences_and_keeps_its_heading(settings) -> None:
    body = " ".join(f"Sentence number {i} says something useful about returns." for i in range(60))
    chunks = chunk_source(read_source(f"# Returns policy\n\n{body}\n".encode(), "long.md"), max_chars=300)
    assert len(chunks) > 5 and all(len(c.body) <= 300 for c in chunks)
    assert all(c.text.startswith("Returns policy\n") for c in chunks)
    assert all(c.body.endswith(".") for c in chunks)


def test_html_skips_scripts_and_uses_headings(settings) -> None:
    html = (
        b"<html><head><title>Help</title><style>p{}</style></head><body><nav>Menu</nav><h1>Shipping</h1>"
        b"<p>We ship in 2 days.</p><script>alert(1)</script><h2>Costs</h2><ul><li>$5 standard</li></ul></body></html>"
    )
    src = read_source(html, "help.html")
    chunks = chunk_source(src)
    assert src.title == "Help"
    assert [(c.heading, c.body) for c in chunks] == [
        ("Shipping", "We ship in 2 days."),
        ("Shipping > Costs", "$5 standard"),
    ]


def test_txt_guesses_headings(settings) -> None:
    text = b"Opening Hours\nWe are open 9 to 5 on weekdays.\n\nHolidays\nClosed on public holidays.\n"
    chunks = chunk_source(read_source(text, "hours.txt"))
    assert chunks[0].heading == "Opening Hours" and "9 to 5" in chunks[0].body
    assert chunks[1].heading.endswith("Holidays")


def test_pdf_with_text_layer_keeps_pages(settings) -> None:
    raw = make_text_pdf(["Returns", "Items can be returned within 30 days."])
    chunks = chunk_source(read_source(raw, "policy.pdf"))
    assert chunks and chunks[0].page == 1 and "30 days" in chunks[0].text


def test_scanned_pdf_is_refused_with_an_ocr_hint(settings) -> None:
    with pytest.raises(UserInputError, match="no text layer") as exc:
        read_source(make_scanned_pdf(), "scan.pdf")
    assert "OCR" in exc.value.hint


def test_empty_and_damaged_pdfs_are_refused(settings) -> None:
    import io

    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(100, 100)
    buf = io.BytesIO()
    w.write(buf)
    with pytest.raises(UserInputError, match="no text"):
        read_source(buf.getvalue(), "blank.pdf")
    with pytest.raises(UserInputError, match=r"not a readable PDF|does not look like a PDF"):
        read_source(b"%PDF-1.4 garbage", "broken.pdf")


def test_docx_headings_and_paragraphs(settings) -> None:
    chunks = chunk_source(read_source(make_docx(), "warranty.docx"))
    assert chunks[0].heading == "Warranty policy" and "two-year" in chunks[0].body
    assert chunks[1].heading == "Warranty policy > How to claim"


def test_file_over_the_upload_limit_is_refused(settings, monkeypatch) -> None:
    from aigc_core.settings import reset_settings

    monkeypatch.setenv("AIGC_MAX_UPLOAD_MB", "1")
    reset_settings()
    with pytest.raises(UserInputError, match="over the upload limit"):
        read_source(b"a" * (1024 * 1024 + 1), "big.md")


def test_unknown_type_and_kind_mismatch(settings) -> None:
    with pytest.raises(UserInputError, match="cannot be read"):
        read_source(b"x", "image.png")
    with pytest.raises(UserInputError, match="is a document, not a table"):
        read_source(b"# A\n\ntext\n", "a.md", "faq")
    with pytest.raises(UserInputError, match="is empty"):
        read_source(b"   ", "a.md")
