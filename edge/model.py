"""The model a pipeline runs: bundle, variant, backend and scorer, swappable between windows.

Which backend runs which variant: a forced ``backend`` runs the requested
variant (or the bundle's default, or its best variant of that backend's
format); otherwise the backends of the default variant's format go first,
then the others, each in preference order (LiteRT, tflite-runtime,
onnxruntime), each on the requested variant or on the bundle's best variant
of its format (the default, or the measured choice among that format's
variants), and the first that imports and loads wins. The reasons the others were passed over are kept for the status.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.backends import BACKENDS, BACKENDS_BY_FORMAT, PREFERENCE, Backend, open_backend
from edge.bundle import Bundle, Variant, load_bundle
from edge.choice import Candidate, choose_default
from edge.errors import BundleError, ConfigError, EdgewatchError, MissingDependencyError, ModelLoadError
from edge.score import WindowScorer

__all__ = ["LoadedModel", "load_model", "reload_model", "backend_candidates", "self_test"]


@dataclass(frozen=True)
class LoadedModel:
    bundle: Bundle
    variant: Variant
    backend: Backend
    scorer: WindowScorer
    requested_variant: str | None = None
    requested_backend: str | None = None
    passed_over: tuple[str, ...] = ()

    @property
    def version(self) -> str:
        """Model name and creation time from the manifest: what the status reports."""
        return f"{self.bundle.model_name}@{self.bundle.manifest['model'].get('created', '?')}"

    @property
    def runs_on(self) -> str:
        """``litert (cpu)``, ``onnxruntime (CUDAExecutionProvider)``: for summaries."""
        return f"{self.backend.name} ({getattr(self.backend, 'execution', 'cpu')})"

    def close(self) -> None:
        self.backend.close()


def _best_variant(bundle: Bundle, model_format: str) -> Variant | None:
    """The default if it has this format, else the measured choice among this format's variants."""
    default = bundle.variant()
    if default.format == model_format:
        return default
    same = [v for v in bundle.variants.values() if v.format == model_format]
    candidates = [Candidate(v.name, int(v.info.get("bytes", 0)), float(v.info.get("latency_ms_host", 0.0)),
                            bool(v.info.get("budget", {}).get("within_budget", True))) for v in same]
    picked = choose_default(candidates) if candidates else None
    return bundle.variants[picked] if picked else (same[0] if same else None)


def backend_candidates(bundle: Bundle, variant: str | None, backend: str | None) -> list[tuple[str, Variant]]:
    """(backend, variant) pairs to try, best first; see the module docstring.

    Raises:
        ConfigError: an unknown backend or variant, or a forced pair that cannot go together.
    """
    if backend is not None:
        if backend not in BACKENDS:
            raise ConfigError(f"unknown backend {backend!r}; choose one of: {', '.join(PREFERENCE)}")
        fmt = BACKENDS[backend].format
        chosen = bundle.variant(variant) if variant else _best_variant(bundle, fmt)
        if chosen is None or chosen.format != fmt:
            what = f"variant {chosen.name!r} is {chosen.format}" if chosen else f"the bundle has no {fmt} variant"
            raise ConfigError(f"backend {backend} runs {fmt} models but {what}; choose another --backend or --variant")
        return [(backend, chosen)]
    if variant is not None:
        chosen = bundle.variant(variant)
        return [(name, chosen) for name in BACKENDS_BY_FORMAT.get(chosen.format, ())]
    # the bundle's default first (on the backends of its format), then the others in preference order
    default_format = bundle.variant().format
    order = sorted(PREFERENCE, key=lambda name: BACKENDS[name].format != default_format)
    pairs = [(name, _best_variant(bundle, BACKENDS[name].format)) for name in order]
    return [(name, v) for name, v in pairs if v is not None]


def load_model(bundle: Bundle, variant_name: str | None = None, backend_name: str | None = None) -> LoadedModel:
    """Open the first backend that can run the bundle (see the module docstring).

    Raises:
        ConfigError: see ``backend_candidates``.
        MissingDependencyError, ModelLoadError: no candidate could run it; the message lists why for each.
    """
    candidates = backend_candidates(bundle, variant_name, backend_name)
    reasons: list[str] = []
    for name, variant in candidates:
        try:
            backend = open_backend(variant.format, variant.path, name)
        except (MissingDependencyError, ModelLoadError) as exc:
            if len(candidates) == 1:
                raise
            reasons.append(f"{name} ({variant.name}): {exc}")
            continue
        return LoadedModel(bundle, variant, backend, WindowScorer(bundle.scaler, backend, bundle.score), variant_name,
                           backend_name, tuple(reasons))
    raise ModelLoadError("no installed backend can run this bundle: " + "; ".join(reasons)
                         + " (pip install ai-edge-litert, or onnxruntime)")


def self_test(model: LoadedModel, probe: np.ndarray | None) -> float:
    """Score one window (``probe`` or zeros); a non-finite score or any error fails the test.

    Raises:
        EdgewatchError: the model failed; the message says how.
    """
    spec = model.bundle.input
    sample = probe if probe is not None else np.zeros((spec.window, spec.channels), np.float32)
    try:
        score = model.scorer(sample)
    except Exception as exc:  # a backend failing on real data must not take the stream down
        raise EdgewatchError(f"the new model failed its self-test: {exc}") from exc
    if not np.isfinite(score):
        raise EdgewatchError(f"the new model failed its self-test: the self-test window scored {score}")
    return score


def reload_model(current: LoadedModel, path: Path | None, probe: np.ndarray | None) -> LoadedModel:
    """Load and self-test a bundle that must eat the same windows; the current model stays untouched.

    Raises:
        EdgewatchError: the bundle fails verification, has another input, cannot load, or fails its self-test.
    """
    bundle = load_bundle(path or current.bundle.root)
    if bundle.input != current.bundle.input:
        raise BundleError("the new bundle expects other windows (window, hop, columns or rate); "
                          "restart edge-infer to change the input")
    if current.variant.name in bundle.variants:  # the same variant on the same backend, new weights
        model = load_model(bundle, current.variant.name, current.backend.name)
    else:
        model = load_model(bundle, None, current.requested_backend)
    try:
        self_test(model, probe)
    except EdgewatchError:
        model.close()
        raise
    return model
