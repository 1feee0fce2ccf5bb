"""The one exception tree of edgewatch.

    EdgewatchError                 anything edgewatch reports to a user
    ├── ConfigError                a flag, option or config value is wrong
    ├── DataError                  input data is malformed (CSV, stream rows)
    ├── BundleError                a model bundle is missing, tampered or inconsistent
    ├── ModelLoadError             a backend cannot load or run a model
    ├── MissingDependencyError     an optional extra is not installed
    ├── SourceError                a data source cannot be opened or read
    ├── SinkError                  an alert sink cannot connect or deliver
    │   └── BrokerError            the MQTT broker refused or is unreachable
    └── UpdateError                a model update was refused (signature, hash, size, archive)

Library code raises these (wrapping third-party errors with ``from exc``);
only the CLI turns them into one readable line and an exit code. Every message
names the problem and, where there is one, the fix.
"""

from __future__ import annotations

__all__ = [
    "EdgewatchError",
    "ConfigError",
    "DataError",
    "BundleError",
    "ModelLoadError",
    "MissingDependencyError",
    "SourceError",
    "SinkError",
    "BrokerError",
    "UpdateError",
]


class EdgewatchError(Exception):
    """Base of every error edgewatch reports to a user."""


class ConfigError(EdgewatchError):
    """A command-line flag, option or config value is invalid."""


class DataError(EdgewatchError):
    """Input data is malformed: missing columns, non-numeric cells, empty files."""


class BundleError(EdgewatchError):
    """A model bundle is missing, tampered with, truncated or inconsistent."""


class ModelLoadError(EdgewatchError):
    """An inference backend cannot load or run a model."""


class MissingDependencyError(EdgewatchError):
    """An optional dependency is missing; the message says which pip install fixes it."""


class SourceError(EdgewatchError):
    """A data source cannot be opened or read."""


class SinkError(EdgewatchError):
    """An alert sink cannot connect or deliver."""


class BrokerError(SinkError):
    """The MQTT broker is unreachable or refused the connection."""


class UpdateError(EdgewatchError):
    """A model update was refused or failed: bad signature or hash, too large, truncated, unsafe archive."""
