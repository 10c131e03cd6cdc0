"""Bomb uploads: a Parquet declaring too many rows or too much data, an XLSX that is a zip bomb."""

from __future__ import annotations

import io
import struct
import zipfile

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aigc_core.data import readers
from aigc_core.data.readers import read_file
from aigc_core.errors import UserInputError


@pytest.fixture()
def one_mb_limit(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Upload limit 1 MB, so an XLSX or Parquet may unpack to 20 MB."""
    from aigc_core.settings import reset_settings

    monkeypatch.setenv("AIGC_MAX_UPLOAD_MB", "1")
    reset_settings()


def _parquet(df: pd.DataFrame, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buf, **kwargs)
    return buf.getvalue()


def test_parquet_over_the_row_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _parquet(pd.DataFrame({"text": [f"row {i}" for i in range(50)]}))
    monkeypatch.setattr(readers, "MAX_ROWS", 50)
    assert len(read_file(raw, "ok.parquet").df) == 50
    monkeypatch.setattr(readers, "MAX_ROWS", 10)
    monkeypatch.setattr(pd, "read_parquet", lambda *a, **k: pytest.fail("read before the row check"))
    with pytest.raises(UserInputError, match=r"has 50 rows; at most 10 rows") as info:
        read_file(raw, "many.parquet")
    assert "split" in (info.value.hint or "")


def test_parquet_that_unpacks_to_too_much_is_refused(one_mb_limit: None) -> None:
    zeros = pd.DataFrame({"n": pa.array([0] * 3_000_000, type=pa.int64())})  # 24 MB plain, a few kB packed
    raw = _parquet(zeros, use_dictionary=False, compression="zstd")
    assert len(raw) < 1024 * 1024
    with pytest.raises(UserInputError, match=r"unpacks to 2\d MB, over the limit of 20 MB") as info:
        read_file(raw, "zeros.parquet")
    assert info.value.hint


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_xlsx_zip_bomb_over_the_unpacked_limit_is_refused(one_mb_limit: None) -> None:
    raw = _zip({"[Content_Types].xml": b"<Types/>", "xl/worksheets/sheet1.xml": b"\0" * 30_000_000})
    assert len(raw) < 100_000  # 30 MB of zeros deflate to ~30 kB
    with pytest.raises(UserInputError, match=r"unpacks to 29 MB, over the limit of 20 MB") as info:
        read_file(raw, "bomb.xlsx")
    assert "CSV" in (info.value.hint or "")
    with pytest.raises(UserInputError, match="unpacks to"):
        readers.list_sheets(raw)  # the Data page lists sheets first


def test_xlsx_member_claiming_a_huge_size_is_refused(one_mb_limit: None) -> None:
    raw = bytearray(_zip({"xl/worksheets/sheet1.xml": b"<worksheet/>"}))
    cd = raw.rindex(b"PK\x01\x02")  # central directory entry: uncompressed size at offset 24
    raw[cd + 24 : cd + 28] = struct.pack("<I", 3_000_000_000)
    with pytest.raises(UserInputError, match=r"unpacks to 2,861 MB"):
        read_file(bytes(raw), "claims.xlsx")


def test_xlsx_member_with_an_absurd_compression_ratio_is_refused(settings) -> None:
    raw = _zip({"xl/worksheets/sheet1.xml": b"\0" * 20_000_000})  # under the 4 GB total, but ~1000:1
    with pytest.raises(UserInputError, match=r"compressed \d[\d,]*:1 \(at most 200:1.*zip bomb"):
        read_file(raw, "ratio.xlsx")


def test_real_workbook_still_reads(settings) -> None:
    buf = io.BytesIO()
    pd.DataFrame({"text": ["same text"] * 2000, "label": ["pos"] * 2000}).to_excel(buf, index=False)
    assert read_file(buf.getvalue(), "ok.xlsx").df.shape == (2000, 2)
