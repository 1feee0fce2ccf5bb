"""The model a pipeline runs: bundle, variant, backend and scorer, swappable between windows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.backends import Backend, open_backend
from edge.bundle import Bundle, Variant, load_bundle
from edge.errors import BundleError, EdgewatchError
from edge.score import WindowScorer

__all__ = ["LoadedModel", "load_model", "reload_model"]


@dataclass(frozen=True)
class LoadedModel:
    bundle: Bundle
    variant: Variant
    backend: Backend
    scorer: WindowScorer

    @property
    def version(self) -> str:
        """Model name and creation time from the manifest: what the status reports."""
        return f"{self.bundle.model_name}@{self.bundle.manifest['model'].get('created', '?')}"

    def close(self) -> None:
        self.backend.close()


def load_model(bundle: Bundle, variant_name: str | None = None) -> LoadedModel:
    """Open the backend for a verified bundle's variant."""
    variant = bundle.variant(variant_name)
    backend = open_backend(variant.format, variant.path)
    return LoadedModel(bundle, variant, backend, WindowScorer(bundle.scaler, backend, bundle.score))


def reload_model(current: LoadedModel, path: Path | None, probe: np.ndarray | None) -> LoadedModel:
    """Load and self-test a bundle that must eat the same windows; the current model stays untouched.

    Raises:
        EdgewatchError: the bundle fails verification, has another input, cannot load, or fails its self-test.
    """
    bundle = load_bundle(path or current.bundle.root)
    if bundle.input != current.bundle.input:
        raise BundleError("the new bundle expects other windows (window, hop, columns or rate); "
                          "restart edge-infer to change the input")
    name = current.variant.name if current.variant.name in bundle.variants else None
    model = load_model(bundle, name)
    try:
        sample = probe if probe is not None else np.zeros((bundle.input.window, bundle.input.channels), np.float32)
        score = model.scorer(sample)
        if not np.isfinite(score):
            raise EdgewatchError(f"self-test window scored {score}")
    except Exception as exc:
        model.close()
        raise EdgewatchError(f"the new model failed its self-test: {exc}") from exc
    return model
