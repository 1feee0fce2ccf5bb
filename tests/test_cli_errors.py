"""Bad input gets one clear line naming the problem and a non-zero exit, never a traceback."""

from __future__ import annotations

import shutil
import socket

import pytest

from conftest import run_cli


def _error_line(done) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def _infer(bundle, source, *extra):
    return run_cli("edgewatch.infer", "--bundle", str(bundle), "--source", source, "--quiet", *extra, timeout=120)


def test_bundle_with_a_changed_byte_is_refused(trained_bundle, tmp_path):
    copy = shutil.copytree(trained_bundle.bundle, tmp_path / "bundle")
    model = copy / "model_int8.tflite"
    content = bytearray(model.read_bytes())
    content[len(content) // 2] ^= 0x01
    model.write_bytes(bytes(content))
    line = _error_line(_infer(copy, f"file:{trained_bundle.data.stream_csv}"))
    assert "model_int8.tflite" in line and "sha256" in line


def test_truncated_bundle_is_refused(trained_bundle, tmp_path):
    copy = shutil.copytree(trained_bundle.bundle, tmp_path / "bundle")
    model = copy / "model_int8.tflite"
    model.write_bytes(model.read_bytes()[:-100])
    line = _error_line(_infer(copy, f"file:{trained_bundle.data.stream_csv}"))
    assert "model_int8.tflite" in line and "truncated" in line


def test_csv_missing_a_column_names_it(trained_bundle, tmp_path):
    rows = trained_bundle.data.stream_csv.read_text().splitlines()
    cut = [",".join(r.split(",")[:-1]) for r in rows]  # drop "pressure"
    csv = tmp_path / "cut.csv"
    csv.write_text("\n".join(cut) + "\n")
    line = _error_line(_infer(trained_bundle.bundle, f"file:{csv}"))
    assert "'pressure'" in line and "cut.csv" in line


def test_empty_csv_is_reported(trained_bundle, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    line = _error_line(_infer(trained_bundle.bundle, f"file:{empty}"))
    assert "empty" in line


def test_bad_rows_mid_stream_are_skipped_counted_and_reported(trained_bundle, tmp_path):
    rows = trained_bundle.data.stream_csv.read_text().splitlines()
    rows[100] = rows[100].rsplit(",", 1)[0] + ",oops"
    rows[200] = rows[200].rsplit(",", 1)[0] + ",nan"
    csv = tmp_path / "bad.csv"
    csv.write_text("\n".join(rows) + "\n")
    done = _infer(trained_bundle.bundle, f"file:{csv}")
    assert done.returncode == 0, done.stderr
    assert "skipped 2 bad row(s); first: line 101: column 'pressure' holds 'oops', not a number" in done.stderr
    assert f"rows {len(rows) - 3}," in done.stderr  # header and the two bad rows


def test_broker_refusing_the_connection(trained_bundle):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once closed
    line = _error_line(_infer(trained_bundle.bundle, f"file:{trained_bundle.data.stream_csv}",
                              "--mqtt", f"mqtt://127.0.0.1:{port}"))
    assert f"127.0.0.1:{port}" in line and "refused" in line


def test_unknown_variant_lists_the_choices(trained_bundle):
    line = _error_line(_infer(trained_bundle.bundle, f"file:{trained_bundle.data.stream_csv}", "--variant", "int4"))
    assert "int8" in line and "onnx" in line


@pytest.mark.parametrize(
    "content, expected",
    [
        ("", "empty"),
        ("timestamp,a,b\n", "no data rows"),
        ("a,b\n1,2\n3,x\n", "line 3: column 'b' holds 'x', not a number"),
    ],
)
def test_train_on_bad_csv(tmp_path, content, expected):
    csv = tmp_path / "train.csv"
    csv.write_text(content)
    done = run_cli("edgewatch.cli", "train", "autoencoder", "--data", str(csv), "--out", str(tmp_path / "m.keras"))
    assert expected in _error_line(done)


def test_convert_without_sidecar_says_how_to_fix(trained_bundle, tmp_path):
    model = tmp_path / "model.keras"
    shutil.copy(trained_bundle.model, model)
    done = run_cli("edgewatch.cli", "convert", "--model", str(model), "--data", str(trained_bundle.data.normal_csv),
                   "--out", str(tmp_path / "b"))
    assert "edgewatch train autoencoder" in _error_line(done)
