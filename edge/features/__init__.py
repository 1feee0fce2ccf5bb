"""On-device features: raw source samples -> feature frames, streaming, the same code as training.

Pure numpy (no TensorFlow, no librosa): log-mel and MFCC for audio
(:mod:`edge.features.audio`), resized/grey/normalised frames for cameras
(:mod:`edge.features.frames`), and the streaming resampler every audio source
uses (:mod:`edge.features.resample`). Parameters are typed specs stored in the
bundle manifest (:mod:`edge.features.spec`), so a device configures itself from
the bundle and ``convert/`` computes training features with the same objects.
"""

from edge.features.spec import (
    FEATURE_KINDS,
    FeatureExtractor,
    FeatureSpec,
    FrameSpec,
    LogMelSpec,
    MfccSpec,
    NoFeatures,
    Passthrough,
    feature_spec_from_dict,
)

__all__ = ["FEATURE_KINDS", "FeatureExtractor", "FeatureSpec", "FrameSpec", "LogMelSpec", "MfccSpec",
           "NoFeatures", "Passthrough", "feature_spec_from_dict"]
