"""Reading and verifying a model bundle: the one place that knows the manifest's layout.

A bundle is a directory with ``manifest.json`` and the model files it lists.
The manifest is the contract between the host that converted the model and
the device that runs it (JSON Schema: ``docs/manifest.schema.json``).
Loading verifies every file's size and sha256 before anything runs.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from edge.decide import DecisionConfig
from edge.errors import BundleError, ConfigError
from edge.features import FeatureSpec, FrameSpec, NoFeatures, Passthrough, feature_spec_from_dict
from edge.scaler import StandardScaler
from edge.score import ScoreSpec

__all__ = ["Bundle", "Variant", "InputSpec", "load_bundle", "set_default_variant", "sha256_file", "MANIFEST_NAME",
           "SCHEMA_VERSION"]

MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class InputSpec:
    """What the model eats: windows of ``window`` rows of ``columns``, every ``hop`` rows.

    With ``features`` (the manifest's ``features`` object), a row is a feature
    frame: ``columns`` name the feature channels and ``sample_rate`` is the frame
    rate, while the source delivers ``source_columns`` at ``source_rate``. Camera
    frames are one flat row each; their columns are just ``["frame"]`` (the shape is
    in the features' parameters and ``input.frame_shape``), or, in bundles that list
    them, one name per value.
    """

    window: int
    hop: int
    columns: tuple[str, ...]
    sample_rate: float | None
    features: FeatureSpec = NoFeatures()
    frame_shape: tuple[int, ...] | None = None  # CNN+LSTM: height, width, channels of a frame

    @property
    def channels(self) -> int:
        """Values per row the window slides over (a flat camera frame has height x width x colours)."""
        return len(self.columns) if isinstance(self.features, NoFeatures) else self.features.dims

    @property
    def window_shape(self) -> tuple[int, ...] | None:
        """The model's input (no batch axis) when it is not ``(window, channels)``: frames for a CNN."""
        return (self.window, *self.frame_shape) if self.frame_shape else None

    @property
    def source_columns(self) -> tuple[str, ...]:
        """Raw columns the source must deliver, in order."""
        return self.columns if isinstance(self.features, NoFeatures) else self.features.source_columns

    @property
    def source_rate(self) -> float | None:
        """Raw samples (or camera frames) per second the source must deliver."""
        return self.sample_rate if isinstance(self.features, NoFeatures) else self.features.source_rate

    @property
    def media(self) -> str:
        """``rows``, ``audio`` or ``video``: what the features take from the source."""
        return self.features.media

    def extractor(self):
        """A fresh streaming feature extractor (rows pass through unchanged without features)."""
        return Passthrough(self.channels) if isinstance(self.features, NoFeatures) else self.features.extractor()


@dataclass(frozen=True)
class Variant:
    """One converted artifact of the model (e.g. ``int8`` TFLite, ``onnx`` FP32)."""

    name: str
    path: Path
    format: str  # "tflite" or "onnx"
    precision: str
    info: dict


@dataclass(frozen=True)
class Bundle:
    """A verified bundle, ready for a backend."""

    root: Path
    model_name: str
    input: InputSpec
    scaler: StandardScaler
    score: ScoreSpec
    threshold: float
    k: int
    n: int
    release: int | None
    cooldown_s: float
    default_variant: str
    variants: dict[str, Variant]
    manifest: dict
    labels: tuple[str, ...] = ()  # a classifier's label names, in output order
    end_ratio: float | None = None  # see edge.decide.DecisionConfig; older bundles have none

    def variant(self, name: str | None = None) -> Variant:
        """The named variant, or the manifest's default; ``ConfigError`` lists the choices."""
        name = name or self.default_variant
        if name not in self.variants:
            raise ConfigError(f"bundle has no variant {name!r}; choose one of: {', '.join(self.variants)}")
        return self.variants[name]

    def decision(
        self,
        variant: Variant,
        threshold: float | None = None,
        k: int | None = None,
        n: int | None = None,
        cooldown_s: float | None = None,
        release: int | None = None,
        end_ratio: float | None = None,
    ) -> DecisionConfig:
        """The decision settings for ``variant``: the manifest's, with any overrides applied."""
        cooldown_s = self.cooldown_s if cooldown_s is None else cooldown_s
        cooldown = 0
        if cooldown_s > 0:
            if not self.input.sample_rate:
                raise ConfigError("a cooldown in seconds needs the bundle's sample rate, which it does not record")
            cooldown = math.ceil(cooldown_s * self.input.sample_rate / self.input.hop)
        chosen = threshold if threshold is not None else float(variant.info.get("threshold", self.threshold))
        return DecisionConfig(chosen, k or self.k, n or self.n, cooldown, release or self.release,
                              end_ratio if end_ratio is not None else self.end_ratio)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_bundle(root: Path) -> Bundle:
    """Read ``root/manifest.json``, verify every listed file, and return the bundle."""
    root = Path(root)
    manifest = _read_manifest(root)
    _verify_files(root, manifest)
    try:
        return _build(root, manifest)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(f"{root / MANIFEST_NAME} is malformed ({exc!r}); re-run edgewatch convert") from exc


def _read_manifest(root: Path) -> dict:
    path = root / MANIFEST_NAME
    if not path.is_file():
        raise BundleError(f"{root} is not a bundle: {MANIFEST_NAME} is missing (create one with edgewatch convert)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path} is not valid JSON ({exc}); the bundle is damaged, convert or copy it again") from exc
    if not isinstance(manifest, dict) or manifest.get("schema_version") != SCHEMA_VERSION:
        found = manifest.get("schema_version") if isinstance(manifest, dict) else None
        raise BundleError(
            f"{path} has schema_version {found!r}; this edgewatch reads version {SCHEMA_VERSION} "
            "(re-convert the model or upgrade edgewatch)"
        )
    return manifest


def _verify_files(root: Path, manifest: dict) -> None:
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise BundleError(f"{root / MANIFEST_NAME} lists no files; re-run edgewatch convert")
    for name, entry in files.items():
        if not isinstance(entry, dict):
            raise BundleError(f"{root / MANIFEST_NAME}: the entry for {name} is not an object; re-run edgewatch convert")
        path = root / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise BundleError(f"manifest lists {name!r} outside the bundle; refusing to load it")
        if not path.is_file():
            raise BundleError(f"bundle file {name} is missing from {root}; copy the whole bundle again")
        if path.stat().st_size != entry.get("bytes"):
            raise BundleError(
                f"bundle file {name} has {path.stat().st_size} bytes, the manifest says {entry.get('bytes')} "
                "(truncated or changed); copy the bundle again"
            )
        if sha256_file(path) != entry.get("sha256"):
            raise BundleError(
                f"bundle file {name} does not match its sha256 in {MANIFEST_NAME} (changed or corrupted); "
                "copy the bundle again or re-run edgewatch convert"
            )


def _score_spec(manifest: dict, channels: int) -> ScoreSpec:
    """The manifest's score spec; bundles written before it existed score by reconstruction MSE."""
    try:
        score = ScoreSpec.from_dict(manifest.get("score"))
        score.check_channels(channels)
    except ConfigError as exc:
        raise BundleError(f"the bundle's score spec is not usable here ({exc}); "
                          "upgrade edgewatch or re-run edgewatch convert") from exc
    return score
def _input_spec(spec: dict, features: dict | None) -> InputSpec:
    """The manifest's ``input`` and ``features``; frame counts and rates must agree."""
    try:
        parsed = feature_spec_from_dict(features)
    except ConfigError as exc:
        raise BundleError(f"the bundle's features are not usable here ({exc}); upgrade edgewatch or re-convert") from exc
    shape = tuple(int(v) for v in spec["frame_shape"]) if spec.get("frame_shape") else None
    result = InputSpec(int(spec["window"]), int(spec["hop"]), tuple(spec["columns"]), spec.get("sample_rate"), parsed,
                       shape)
    if not isinstance(parsed, NoFeatures):
        compact = isinstance(parsed, FrameSpec) and list(result.columns) == ["frame"]
        if not compact and parsed.dims != len(result.columns):
            raise BundleError(f"the manifest's {parsed.kind} features give {parsed.dims} values per frame but its "
                              f"input names {len(result.columns)} columns; re-run edgewatch convert")
        if isinstance(parsed, FrameSpec) and shape is not None and shape != parsed.shape:
            raise BundleError(f"the manifest's frame_shape {list(shape)} is not the frame features' "
                              f"{list(parsed.shape)}; re-run edgewatch convert")
        if result.sample_rate and abs(result.sample_rate - parsed.frame_rate) > 1e-6 * parsed.frame_rate:
            raise BundleError(f"the manifest's input rate {result.sample_rate} is not the {parsed.kind} frame rate "
                              f"{parsed.frame_rate:g}; re-run edgewatch convert")
    return result


def _build(root: Path, manifest: dict) -> Bundle:
    spec = manifest["input"]
    decision = manifest["decision"]
    threshold = float(manifest["threshold"]["value"])
    variants = {}
    for name, entry in manifest["variants"].items():
        if entry["file"] not in manifest["files"]:
            raise BundleError(f"variant {name} names {entry['file']}, which the manifest's files do not list")
        variants[name] = Variant(name, root / entry["file"], entry["format"], entry["precision"], entry)
    default = manifest["default_variant"]
    if default not in variants:
        raise BundleError(f"default variant {default!r} is not among the bundle's variants")
    input_spec = _input_spec(spec, manifest.get("features"))
    return Bundle(
        root=root,
        model_name=manifest["model"]["name"],
        input=input_spec,
        scaler=StandardScaler.from_dict(manifest["scaler"]),
        score=_score_spec(manifest, input_spec.channels),
        threshold=threshold,
        k=int(decision["k"]),
        n=int(decision["n"]),
        release=decision.get("release"),
        cooldown_s=float(decision.get("cooldown_s", 0.0)),
        default_variant=default,
        variants=variants,
        manifest=manifest,
        labels=tuple(manifest.get("labels") or ()),
        end_ratio=float(decision["end_ratio"]) if decision.get("end_ratio") is not None else None,
    )


def set_default_variant(root: Path, name: str, evidence: dict) -> dict:
    """Make ``name`` the bundle's default variant (``edgewatch bench --repick``), atomically.

    The model files are untouched, so every sha256 stays valid; the manifest
    is written to a temporary file beside it, flushed, and renamed over it,
    then the bundle is verified again. ``evidence`` (the device's latencies)
    is recorded under ``choice.device``. Returns the new manifest.
    """
    root = Path(root)
    bundle = load_bundle(root)
    variant = bundle.variant(name)
    manifest = dict(bundle.manifest)
    manifest["default_variant"] = name
    manifest["threshold"] = {**manifest["threshold"], "variant": name,
                             "value": float(variant.info.get("threshold", bundle.threshold))}
    manifest["choice"] = {**manifest.get("choice", {}), "device": evidence}
    temporary = root / f".{MANIFEST_NAME}.tmp"
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps(manifest, indent=2) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, root / MANIFEST_NAME)
    load_bundle(root)
    return manifest
