"""Where errors become exit codes: the CLI's single mapping."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TypeVar

import typer

from edge.errors import EdgewatchError

__all__ = ["cli_errors", "EXIT_ERROR", "EXIT_UNDELIVERED", "EXIT_INTERRUPTED"]

EXIT_ERROR = 1
EXIT_UNDELIVERED = 3
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable)


def cli_errors(func: F) -> F:
    """Turn an ``EdgewatchError`` into one line on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except EdgewatchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(EXIT_ERROR) from None
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper  # type: ignore[return-value]
