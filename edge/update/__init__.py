"""Signed model updates: archives, signatures, downloads, the on-device store and the updater."""

from edge.update.store import BundleStore

__all__ = ["BundleStore"]
