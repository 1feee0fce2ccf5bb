"""Recipes benchmark: how well the keyword and camera recipes of the README detect, over several seeds.

The tests prove each recipe on one model and one short stream; this measures how much of that holds
over training seeds and a longer stream, for the bundle's default (quantized, chosen by measurement)
variant against the fp32 TFLite variant of the same bundle, replayed in the same run (the baseline:
what quantization costs in detection, and the inference p50 per window of each, from edge-infer's summary).

- keywords: the test's training clips (espeak-ng, 12 voices x 3 styles, background class), one
  MFCC + LSTM classifier per seed (trained and converted as the recipe does), then a longer stream
  than the test's: each keyword ``--per-keyword`` times and ``--others`` other words, in speaking
  styles the clips do not have, one word every 2.5 s over noise. ``edge-infer`` replays the WAV
  (default variant, then ``--variant fp32``); with ``--live`` it also listens to it on the virtual
  PulseAudio microphone in real time (first seed). A keyword is found when an event of its label
  starts within [-1.5, +1.0] s of it in the replay ([-1.0, +1.5] s live: PulseAudio and PortAudio
  add ~1 s); an event of another label there is a wrong label; any other event is a second event on
  a keyword, a false alarm on another word, or one in noise.
- camera: the test's videos, one CNN+LSTM per seed, ``edge-infer`` on the 29 s stream file, default
  variant and fp32: each of the three unusual motions should give one event of its label and normal
  motion none; also the whole replay's frames per second (decode, features, model, process
  start-up). With ``--live``, the same stream from a local HTTP MJPEG camera at 20 fps (first seed).

    .venv/bin/python benchmarks/recipes.py [--seeds 0,1,2] [--live] [--json out.json]

Three seeds took 7-8 minutes with ``--live`` on the shared 2-core machine (less without). Uses the data generators
in ``tests/`` (keyword_fixtures, video_fixtures, mjpeg_server); needs espeak-ng, sox, and for
``--live`` PulseAudio (all installed by ``scripts/setup.sh``).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # run from a checkout; the data generators live with the tests

from keyword_fixtures import WINDOW_FRAMES, evaluation_script, make_keyword_set, make_stream  # noqa: E402
from video_fixtures import FPS, make_video_set, read_frames  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2", help="training seeds, comma separated (default 0,1,2)")
    parser.add_argument("--per-keyword", type=int, default=10, help="times each keyword is spoken (default 10)")
    parser.add_argument("--others", type=int, default=15, help="other words in the stream (default 15)")
    parser.add_argument("--live", action="store_true", help="also the live microphone and MJPEG camera (one seed)")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    return parser.parse_args(argv)


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=900,
                          env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} failed:\n{done.stderr[-2000:]}")
    return done


def train_and_convert(root: Path, data: Path, train: list[str], variants: str, seed: int) -> Path:
    model, bundle = root / f"model{seed}.keras", root / f"bundle{seed}"
    cli("edgewatch.cli", "train", *train, "--seed", str(seed), "--data", str(data), "--out", str(model))
    cli("edgewatch.cli", "convert", "--model", str(model), "--data", str(data), "--out", str(bundle),
        "--variants", variants, "--no-plots")
    return bundle


def replay(bundle: Path, source: Path, variant: str | None) -> tuple[list[dict], str, float]:
    """``edge-infer`` on a file: the events' start alerts, its stderr summary, the wall time."""
    began = time.monotonic()
    done = cli("edgewatch.infer", "--bundle", str(bundle), "--source", f"file:{source}",
               *(["--variant", variant] if variant else []))
    return starts(done.stdout), done.stderr, time.monotonic() - began


def inference_p50_ms(stderr: str) -> float | None:
    found = re.search(r"inference p50 ([\d.]+) ms", stderr)
    return float(found.group(1)) if found else None


def default_variant(bundle: Path) -> str:
    return json.loads((bundle / "manifest.json").read_text())["default_variant"]


def starts(stdout: str) -> list[dict]:
    return [a for a in map(json.loads, filter(None, stdout.splitlines())) if a["type"] == "start"]


def score_keywords(events: list[tuple[float, str]], spoken, others, early: float, late: float) -> dict:
    """Hits, wrong labels (with what was heard), misses, and the other events: a second event on a
    keyword, one on another word, or one in noise; ``events`` are (start s in the stream, label)."""
    def near(t: float, words) -> bool:
        return any(onset - early <= t <= onset + late for onset, _ in words)

    used, hits, confusions = set(), 0, []
    for onset, word in spoken:
        close = [i for i, (t, _) in enumerate(events) if onset - early <= t <= onset + late and i not in used]
        if close:
            used.add(close[0])
            hits += events[close[0]][1] == word
            confusions += [[word, events[close[0]][1]]] if events[close[0]][1] != word else []
    rest = [t for i, (t, _) in enumerate(events) if i not in used]
    on_keywords = sum(near(t, spoken) for t in rest)
    on_others = sum(near(t, others) and not near(t, spoken) for t in rest)
    return {"keywords": len(spoken), "hits": hits, "wrong_label": len(confusions), "confusions": confusions,
            "missed": len(spoken) - hits - len(confusions), "second_events_on_keywords": on_keywords,
            "false_alarms_on_other_words": on_others, "other_words": len(others),
            "false_alarms_in_noise": len(rest) - on_keywords - on_others}


def keywords(root: Path, seeds: list[int], args) -> dict:
    clips = make_keyword_set(root / "set")
    stream = make_stream(root / "eval" / "stream.wav", evaluation_script(args.per_keyword, args.others, seed=5))
    train = ["classifier", "--features", "mfcc", "--window", str(WINDOW_FRAMES), "--hop", "5", "--units", "32",
             "--epochs", "40", "--patience", "10"]
    results = {"words": len(stream.spoken) + len(stream.others), "stream_s": stream.duration_s, "seeds": {}}
    for seed in seeds:
        began = time.monotonic()
        bundle = train_and_convert(root, clips.clips, train, "fp32,dynamic,onnx_dynamic", seed)
        figures = {"train_and_convert_s": round(time.monotonic() - began, 1), "default_variant": default_variant(bundle)}
        for name, variant in (("replay", None), ("replay_fp32", "fp32")):
            alerts, err, wall = replay(bundle, stream.stream, variant)
            events = [(a["window_start"] / 100.0, a["label"]) for a in alerts]
            figures[name] = {**score_keywords(events, stream.spoken, stream.others, 1.5, 1.0), "wall_s": round(wall, 2),
                             "inference_p50_ms": inference_p50_ms(err)}
        results["seeds"][seed] = figures
        print(f"keywords seed {seed}: {figures}", flush=True)
        if args.live and seed == seeds[0]:
            figures["live"] = live_keywords(bundle, stream)
            print(f"keywords seed {seed}: live {figures['live']}", flush=True)
    return results


def live_keywords(bundle: Path, stream) -> dict:
    from edgewatch.virtual_mic import VirtualMic

    with VirtualMic() as mic:
        infer = subprocess.Popen([sys.executable, "-m", "edgewatch.infer", "--bundle", str(bundle), "--source", "mic"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=mic.env)
        try:
            mic.wait_for_recorder(60)
            started = time.time()
            mic.play(stream.stream).wait(stream.duration_s + 60)
            time.sleep(2.0)
        finally:
            infer.send_signal(signal.SIGTERM)
            out, err = infer.communicate(timeout=60)
    events = [(datetime.fromisoformat(a["time_start"]).timestamp() - started, a["label"]) for a in starts(out)]
    return {**score_keywords(events, stream.spoken, stream.others, 1.0, 1.5), "source": err.strip().splitlines()[-1]}


def score_motions(events: list[tuple[float, str]], segments) -> dict:
    """Per unusual motion: found when an event of its label starts in it (or up to 1.3 s, a window and a
    hop or so, before); further events there are extra, events of another label wrong, the rest false alarms."""
    inside = [[label for t, label in events if a - 1.3 <= t <= b] for _, a, b in segments]
    found = sum(motion in labels for (motion, _, _), labels in zip(segments, inside))
    wrong = sum(label != motion for (motion, _, _), labels in zip(segments, inside) for label in labels)
    placed = sum(len(labels) for labels in inside)
    return {"anomalies": len(segments), "found": found, "extra_events": placed - found - wrong,
            "events_wrong_label": wrong, "false_alarms": len(events) - placed}


def camera(root: Path, seeds: list[int], args) -> dict:
    video = make_video_set(root / "video")
    train = ["cnn-lstm", "--diff", "--fps", "10", "--frame-size", "32x24", "--window", "8", "--hop", "2",
             "--units", "16", "--filters", "8", "--epochs", "30"]
    results = {"stream_s": video.duration_s, "seeds": {}}
    for seed in seeds:
        bundle = train_and_convert(root, video.clips, train, "fp32,dynamic,onnx", seed)
        figures = {"default_variant": default_variant(bundle)}
        for name, variant in (("replay", None), ("replay_fp32", "fp32")):
            alerts, err, wall = replay(bundle, video.stream, variant)
            events = [(a["window_start"] / 10.0, a["label"]) for a in alerts]
            frames = int(re.search(r"frames_read (\d+)", err).group(1))
            figures[name] = {**score_motions(events, video.segments), "wall_s": round(wall, 2),
                             "frames_per_s_incl_startup": round(frames / wall, 1), "inference_p50_ms": inference_p50_ms(err)}
        results["seeds"][seed] = figures
        print(f"camera seed {seed}: {figures}", flush=True)
        if args.live and seed == seeds[0]:
            figures["live_mjpeg"] = live_camera(bundle, video)
            print(f"camera seed {seed}: live {figures['live_mjpeg']}", flush=True)
    return results


def live_camera(bundle: Path, video) -> dict:
    from mjpeg_server import MjpegServer

    with MjpegServer(fps=FPS, frames=read_frames(video.stream)) as server:
        infer = subprocess.Popen([sys.executable, "-m", "edgewatch.infer", "--bundle", str(bundle), "--source",
                                  f"camera:{server.url}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            server.finished.wait(video.duration_s + 60)
        finally:
            infer.send_signal(signal.SIGTERM)
            server.stop()
            out, err = infer.communicate(timeout=60)
    events = [(datetime.fromisoformat(a["time_start"]).timestamp() - server.started, a["label"]) for a in starts(out)]
    fps_in = re.search(r"fps_in ([\d.]+)", err)
    return {**score_motions(events, video.segments), "fps_in": float(fps_in.group(1)) if fps_in else None,
            "frames_used": int(re.search(r"frames_used (\d+)", err).group(1))}


def _total(seeds: dict, part: str, key: str) -> int:
    return sum(f[part][key] for f in seeds.values() if part in f)


def _p50_ratio(seeds: dict) -> str:
    """The default variant's inference p50 per window against the fp32 baseline's, median over seeds."""
    pairs = sorted((f["replay"]["inference_p50_ms"], f["replay_fp32"]["inference_p50_ms"]) for f in seeds.values())
    ours, base = pairs[len(pairs) // 2]
    variants = sorted({f["default_variant"] for f in seeds.values()})
    return (f"default {'/'.join(variants)}: inference p50 {ours:.3f} ms per window, fp32 baseline {base:.3f} ms "
            f"({base / ours:.2f}x)" if ours and base else f"default {'/'.join(variants)}: no latency figure")


def summarize(figures: dict) -> None:
    """Totals over seeds, default variant against its fp32 baseline."""
    kw, cam = figures["keywords"], figures["camera"]
    print(f"\nkeywords: {len(kw['seeds'])} seeds x {kw['words']} words ({kw['stream_s']:.0f} s stream)")
    for part in ("replay", "replay_fp32", "live"):
        if any(part in f for f in kw["seeds"].values()):
            def total(key: str) -> int:
                return _total(kw["seeds"], part, key)
            heard = [c for f in kw["seeds"].values() if part in f for c in f[part]["confusions"]]
            said = f" (said, heard: {', '.join(f'{w}->{h}' for w, h in heard)})" if heard else ""
            print(f"  {part:12s} found {total('hits')}/{total('keywords')} keywords with their label, wrong label "
                  f"{total('wrong_label')}{said}, missed {total('missed')}; second events on a keyword "
                  f"{total('second_events_on_keywords')}, false alarms on {total('other_words')} other words "
                  f"{total('false_alarms_on_other_words')}, in noise {total('false_alarms_in_noise')}")
    print(f"  {_p50_ratio(kw['seeds'])}")
    print(f"camera: {len(cam['seeds'])} seeds x 3 unusual motions ({cam['stream_s']:.0f} s stream)")
    for part in ("replay", "replay_fp32", "live_mjpeg"):
        if any(part in f for f in cam["seeds"].values()):
            print(f"  {part:12s} found {_total(cam['seeds'], part, 'found')}/{_total(cam['seeds'], part, 'anomalies')} "
                  f"unusual motions with their label, extra events {_total(cam['seeds'], part, 'extra_events')}, "
                  f"wrong label {_total(cam['seeds'], part, 'events_wrong_label')}, "
                  f"false alarms {_total(cam['seeds'], part, 'false_alarms')}")
    fps = [f["replay"]["frames_per_s_incl_startup"] for f in cam["seeds"].values()]
    print(f"  {_p50_ratio(cam['seeds'])}; whole replay of the 20 fps video {min(fps):.0f}-{max(fps):.0f} frames/s "
          f"(process start-up included)")


def main(argv=None) -> int:
    args = parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory(prefix="edgewatch-recipes-") as tmp:
        figures = {"keywords": keywords(Path(tmp) / "kw", seeds, args), "camera": camera(Path(tmp) / "cam", seeds, args)}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    summarize(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
