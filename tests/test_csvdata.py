"""CSV reading: delimiters, timestamp detection, strict errors, and the forgiving streaming reader."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from edge.csvdata import BadRow, inspect_csv, iter_row_chunks, read_table
from edge.errors import DataError


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message, message
    return message


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters(tmp_path, delimiter):
    rows = [["a", "b", "c"], ["1", "2.5", "-3"], ["4", "5", "6e-1"]]
    path = write(tmp_path, "\n".join(delimiter.join(r) for r in rows) + "\n")
    layout = inspect_csv(path)
    assert layout.delimiter == delimiter
    assert layout.header == ("a", "b", "c")
    assert layout.time_column is None
    table = read_table(path)
    assert table.columns == ("a", "b", "c")
    np.testing.assert_allclose(table.values, [[1, 2.5, -3], [4, 5, 0.6]])
    assert table.values.dtype == np.float32


def test_semicolon_with_decimal_points_not_split_on_commas(tmp_path):
    path = write(tmp_path, "x;y\n1.5;2\n3;4.25\n")
    np.testing.assert_allclose(read_table(path).values, [[1.5, 2], [3, 4.25]])


def test_iso_timestamp_column_detected_by_content(tmp_path):
    # column named "when" (not a known time name) is found because its cells parse as ISO-8601
    lines = ["when,temp,pressure"]
    for i in range(6):
        lines.append(f"2024-03-01T12:00:{i * 0.5:04.1f},{20 + i},{1.0 + i / 10}")
    path = write(tmp_path, "\n".join(lines) + "\n")
    layout = inspect_csv(path)
    assert layout.time_column == "when"
    assert layout.value_columns == ("temp", "pressure")
    table = read_table(path)
    assert table.columns == ("temp", "pressure")
    base = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc).timestamp()  # naive ISO means UTC
    np.testing.assert_allclose(table.times, base + 0.5 * np.arange(6))
    assert table.sample_rate == pytest.approx(2.0)
    np.testing.assert_allclose(table.values[:, 0], 20 + np.arange(6))


def test_numeric_timestamp_column_detected_by_name(tmp_path):
    lines = ["a,timestamp,b"] + [f"{i},{1_700_000_000 + i * 0.1:.1f},{-i}" for i in range(10)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    table = read_table(path)
    assert inspect_csv(path).time_column == "timestamp"
    assert table.columns == ("a", "b")
    np.testing.assert_allclose(table.times, 1_700_000_000 + 0.1 * np.arange(10))
    assert table.sample_rate == pytest.approx(10.0, rel=1e-6)


def test_no_timestamp_column(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n3,4\n")
    table = read_table(path)
    assert table.times is None
    assert table.sample_rate is None
    chunks = list(iter_row_chunks(inspect_csv(path), ["a", "b"]))
    assert np.isnan(chunks[0][1]).all()  # streaming reader gives NaN times


def test_explicit_time_column_and_none(tmp_path):
    path = write(tmp_path, "t,a\n0,1\n1,2\n")
    assert inspect_csv(path).time_column is None  # "t" is numeric and not a known name
    assert read_table(path, time_column="t").sample_rate == pytest.approx(1.0)
    assert read_table(path, time_column=None).columns == ("t", "a")
    with pytest.raises(DataError, match="'nope'") as exc:
        read_table(path, time_column="nope")
    one_line(exc)


def test_empty_file(tmp_path):
    path = write(tmp_path, "", "empty.csv")
    with pytest.raises(DataError, match="empty.csv is empty") as exc:
        read_table(path)
    one_line(exc)


def test_header_only_file(tmp_path):
    path = write(tmp_path, "a,b,c\n", "head.csv")
    with pytest.raises(DataError, match="head.csv has a header but no data rows") as exc:
        read_table(path)
    one_line(exc)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_table(tmp_path / "nope.csv")


def test_non_numeric_cell_names_file_line_and_column(tmp_path):
    # header is line 1, so the third data row is line 4
    path = write(tmp_path, "a,b,c\n1,2,3\n4,5,6\n7,oops,9\n10,11,12\n", "bad.csv")
    with pytest.raises(DataError) as exc:
        read_table(path)
    message = one_line(exc)
    assert "bad.csv" in message
    assert "line 4" in message
    assert "'b'" in message and "oops" in message


@pytest.mark.parametrize("cell", ["nan", "NaN", "inf", "-inf", "Infinity"])
def test_nan_or_inf_cell_is_rejected(tmp_path, cell):
    path = write(tmp_path, f"a,b\n1,2\n3,{cell}\n", "nan.csv")
    with pytest.raises(DataError) as exc:
        read_table(path)
    message = one_line(exc)
    assert "nan.csv line 3" in message
    assert "'b'" in message and "finite" in message


def test_ragged_row(tmp_path):
    path = write(tmp_path, "a,b,c\n1,2,3\n4,5\n", "ragged.csv")
    with pytest.raises(DataError) as exc:
        read_table(path)
    message = one_line(exc)
    assert "ragged.csv line 3" in message
    assert "2 cells" in message and "3" in message


def test_cell_with_a_newline_still_gives_one_line(tmp_path):
    path = write(tmp_path, 'a,b\n1,2\n3,"x\ny"\n', "quoted.csv")
    with pytest.raises(DataError) as exc:
        read_table(path)
    assert "quoted.csv" in one_line(exc)


def test_missing_column_named_in_one_line(tmp_path):
    path = write(tmp_path, "a,b,c\n1,2,3\n", "cols.csv")
    layout = inspect_csv(path)
    assert layout.indices(["c", "a"]) == [2, 0]
    with pytest.raises(DataError) as exc:
        layout.indices(["a", "vibration"])
    message = one_line(exc)
    assert "'vibration'" in message and "cols.csv" in message
    assert "'a'" not in message.split("expected")[0]  # only the missing one is listed as missing
    with pytest.raises(DataError, match="'vibration'"):
        read_table(path, ["vibration"])


def test_iter_row_chunks_skips_bad_rows_and_keeps_good_ones(tmp_path):
    lines = ["ts,a,b"]
    bad_lines = {}
    for i in range(20):
        line_no = i + 2
        if i == 3:
            lines.append(f"{i},x,1")  # non-numeric
            bad_lines[line_no] = "'a'"
        elif i == 8:
            lines.append(f"{i},1")  # ragged
            bad_lines[line_no] = "cells"
        elif i == 9:
            lines.append(f"{i},1,inf")  # not finite
            bad_lines[line_no] = "finite"
        elif i == 15:
            lines.append(f"yesterday,1,2")  # bad timestamp
            bad_lines[line_no] = "timestamp"
        else:
            lines.append(f"{i},{i},{-i}")
    lines.insert(12, "")  # a blank line is skipped silently (shifts later line numbers by one)
    bad_lines = {(n + 1 if n >= 13 else n): why for n, why in bad_lines.items()}
    path = write(tmp_path, "\n".join(lines) + "\n")
    layout = inspect_csv(path)
    assert layout.time_column == "ts"

    chunks = list(iter_row_chunks(layout, ["a", "b"], chunk_rows=4))
    assert all(len(values) <= 4 for values, _, _ in chunks)
    values = np.concatenate([c[0] for c in chunks])
    times = np.concatenate([c[1] for c in chunks])
    bad: list[BadRow] = [b for c in chunks for b in c[2]]

    good = [i for i in range(20) if i not in (3, 8, 9, 15)]
    np.testing.assert_array_equal(values, np.array([[i, -i] for i in good], np.float32))
    np.testing.assert_array_equal(times, np.array(good, np.float64))
    assert [b.line for b in bad] == sorted(bad_lines)
    for row in bad:
        assert bad_lines[row.line] in row.reason
        assert "\n" not in row.reason
