"""Compatibility alias: the autoencoder family now lives in ``convert.families.autoencoder``."""

from convert.families.autoencoder import FAMILY, AutoencoderSpec, build_autoencoder

__all__ = ["AutoencoderSpec", "build_autoencoder", "FAMILY"]
