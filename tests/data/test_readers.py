"""Readers: every format, encoding and delimiter detection, and each bad input with a clear error."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from aigc_core.data.readers import detect_encoding, list_sheets, read_file, sniff_delimiter
from aigc_core.errors import UserInputError

ROWS = pd.DataFrame({"text": ["héllo wörld", "second row", "天气很好"], "label": ["pos", "neg", "pos"]})


def _xlsx(sheets: dict[str, pd.DataFrame]) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, df in sheets.items():
            df.to_excel(xw, sheet_name=name, index=False)
    return buf.getvalue()


def test_csv_utf8_and_comma() -> None:
    res = read_file(ROWS.to_csv(index=False).encode(), "a.csv")
    assert res.format == "csv" and res.encoding == "utf-8" and res.delimiter == ","
    assert res.df["text"].tolist() == ROWS["text"].tolist()


def test_csv_utf8_bom_semicolon() -> None:
    raw = "\ufefftext;label\nhello;pos\nbye;neg\n".encode()
    res = read_file(raw, "b.csv")
    assert res.encoding == "utf-8-sig" and res.delimiter == ";"
    assert list(res.df.columns) == ["text", "label"]


def test_gbk_detected() -> None:
    raw = "text,label\n今天天气很好，我们去公园散步吧,正面\n这个产品质量太差了，非常失望,负面\n".encode("gbk")
    res = read_file(raw, "zh.csv")
    assert res.encoding in {"gb18030", "gbk"}
    assert res.df["label"].tolist() == ["正面", "负面"]


def test_cp1252_detected() -> None:
    raw = "text,label\nCafé crème – très bon,pos\nNaïve façade,neg\n".encode("cp1252")
    res = read_file(raw, "fr.csv")
    assert res.encoding in {"cp1252", "latin-1"}
    assert res.df["text"].iloc[0].startswith("Café crème")


def test_encoding_and_delimiter_override() -> None:
    raw = "text|label\nCafé|pos\n".encode("latin-1")
    res = read_file(raw, "x.csv", encoding="latin-1", delimiter="|")
    assert res.encoding == "latin-1" and res.delimiter == "|" and res.df["text"].iloc[0] == "Café"
    with pytest.raises(UserInputError, match="Unknown encoding"):
        read_file(raw, "x.csv", encoding="klingon")


def test_mixed_encodings_replaced_with_warning() -> None:
    raw = "text\nnaïve utf8 line\n".encode() + "café latin line\n".encode("latin-1") + "ok 好\n".encode()
    assert detect_encoding(raw) == ("utf-8", 1)
    res = read_file(raw, "mixed.csv")
    assert res.replaced_lines == 1 and any("replaced" in w for w in res.warnings)
    assert "\ufffd" in res.df["text"].iloc[1]


def test_tsv_jsonl_json_parquet_txt() -> None:
    assert read_file(ROWS.to_csv(index=False, sep="\t").encode(), "a.tsv").df.shape == (3, 2)
    jsonl = "\n".join(json.dumps(r, ensure_ascii=False) for r in ROWS.to_dict("records")).encode()
    assert read_file(jsonl, "a.jsonl").df["label"].tolist() == ["pos", "neg", "pos"]
    assert read_file(ROWS.to_json(orient="records").encode(), "a.json").df.shape == (3, 2)
    assert read_file(json.dumps({"data": ROWS.to_dict("records")}).encode(), "b.json").df.shape == (3, 2)
    buf = io.BytesIO()
    ROWS.to_parquet(buf)
    assert read_file(buf.getvalue(), "a.parquet").df.shape == (3, 2)
    txt = read_file(b"first text\n\nsecond text\n", "a.txt")
    assert txt.df["text"].tolist() == ["first text", "second text"] and txt.warnings


def test_xlsx_sheets() -> None:
    raw = _xlsx({"First": ROWS, "Other": pd.DataFrame({"copy": ["a", "b"]})})
    assert list_sheets(raw) == ["First", "Other"]
    assert read_file(raw, "w.xlsx").df.shape == (3, 2)
    res = read_file(raw, "w.xlsx", sheet="Other")
    assert res.sheet == "Other" and res.df["copy"].tolist() == ["a", "b"]
    with pytest.raises(UserInputError, match="no sheet"):
        read_file(raw, "w.xlsx", sheet="Nope")


def test_sniff_delimiter() -> None:
    assert sniff_delimiter("a\tb\tc\n1\t2\t3\n") == "\t"
    assert sniff_delimiter("a|b\n1|2\n") == "|"


@pytest.mark.parametrize(
    ("raw", "name", "match"),
    [
        (b"", "empty.csv", "empty"),
        (b"   \n\n", "blank.csv", "empty"),
        (b"text,label\n", "header.csv", "no data rows"),
        (b"\x00\x01\x02binary\x00junk" * 10, "bin.csv", "binary"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "img.csv", "PNG"),
        (b"hello", "doc.docx", "cannot be read"),
        (b"hello", "old.xls", "cannot be read"),
        (b"not a workbook at all", "fake.xlsx", "damaged or truncated"),
        (b"PAR1garbage", "bad.parquet", "not a readable Parquet"),
        (b'{"a": 1,', "bad.json", "not valid JSON"),
    ],
)
def test_bad_inputs(raw: bytes, name: str, match: str) -> None:
    with pytest.raises(UserInputError, match=match) as info:
        read_file(raw, name)
    assert info.value.hint


def test_truncated_xlsx() -> None:
    raw = _xlsx({"S": ROWS})
    with pytest.raises(UserInputError, match="damaged or truncated"):
        read_file(raw[: len(raw) // 2], "cut.xlsx")


def test_xlsx_content_with_csv_extension() -> None:
    with pytest.raises(UserInputError, match="Rename it"):
        read_file(_xlsx({"S": ROWS}), "renamed.csv")


def test_jsonl_broken_line_reported_and_skippable() -> None:
    raw = b'{"text": "a"}\n{"text": "b"\n{"text": "c"}\n'
    with pytest.raises(UserInputError, match="Line 2") as info:
        read_file(raw, "x.jsonl")
    assert "skip" in (info.value.hint or "")
    res = read_file(raw, "x.jsonl", skip_bad_lines=True)
    assert res.df["text"].tolist() == ["a", "c"] and res.skipped_lines == [2]
    assert any("line(s) 2" in w for w in res.warnings)


def test_csv_broken_line_skippable() -> None:
    raw = b"text,label\na,pos\nb,neg,extra,fields\nc,pos\n"
    with pytest.raises(UserInputError, match="could not be parsed"):
        read_file(raw, "x.csv", delimiter=",")
    res = read_file(raw, "x.csv", delimiter=",", skip_bad_lines=True)
    assert res.df["text"].tolist() == ["a", "c"] and len(res.skipped_lines) == 1


def test_over_the_limit(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from aigc_core.settings import reset_settings

    monkeypatch.setenv("AIGC_MAX_UPLOAD_MB", "1")
    reset_settings()
    with pytest.raises(UserInputError, match="over the upload limit") as info:
        read_file(b"text\n" + b"x" * (1024 * 1024 + 10), "big.csv")
    assert "AIGC_MAX_UPLOAD_MB" in (info.value.hint or "")
