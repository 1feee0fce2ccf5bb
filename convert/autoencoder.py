"""Compatibility alias: the autoencoder family now lives in ``convert.families.autoencoder``."""

from convert.families.autoencoder import FAMILY, AutoencoderSpec, build_autoencoder, member_targets, members_view

__all__ = ["AutoencoderSpec", "build_autoencoder", "members_view", "member_targets", "FAMILY"]
