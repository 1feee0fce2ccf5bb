

def test_cli_trains_a_classifier_and_converts_it_pruned(tmp_path):
    from conftest import run_cli
    from edgewatch.synth_data import write_labelled_events

    data = write_labelled_events(tmp_path / "events.csv", rows=2000)
    model = tmp_path / "gru.keras"
    done = run_cli("edgewatch.cli", "train", "classifier", "--cell", "gru", "--data", str(data), "--out", str(model),
                   "--window", "20", "--units", "8", "--epochs", "2")
    assert done.returncode == 0, done.stderr[-2000:]
    sidecar = json.loads(model.with_suffix(".edgewatch.json").read_text())
    assert sidecar["family"] == "gru_classifier" and sidecar["labels"] == ["background", "hum", "knock"]
    done = run_cli("edgewatch.cli", "convert", "--model", str(model), "--data", str(data), "--out",
                   str(tmp_path / "bundle"), "--variants", "fp32,dynamic,onnx", "--prune", "0.5", "--prune-epochs", "1",
                   "--max-drop", "0.01", "--no-plots")
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert manifest["model"]["architecture"]["units"] == 4 and manifest["pruning"]["kind"] == "structured"
    assert manifest["choice"]["max_drop"] == 0.01 and set(manifest["variants"]) == {"fp32", "dynamic", "onnx"}
    assert "default:" in done.stderr and manifest["default_variant"] in done.stderr  # the terminal table
    bad = run_cli("edgewatch.cli", "convert", "--model", str(model), "--data", str(data), "--out",
                  str(tmp_path / "b2"), "--variants", "fp32,int4")
    assert bad.returncode == 1 and "unknown variant(s) int4" in bad.stderr
