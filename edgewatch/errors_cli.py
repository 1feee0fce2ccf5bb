"""Where errors become exit codes: the CLI's single mapping.

Typer is imported only on the error path, so ``edge-infer`` (argparse, for a
small resident footprint) shares this module without paying for Typer.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TypeVar

from edge.errors import EdgewatchError

__all__ = ["cli_errors", "exit_code_of", "EXIT_ERROR", "EXIT_UNDELIVERED", "EXIT_INTERRUPTED"]

EXIT_ERROR = 1
EXIT_UNDELIVERED = 3
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable)


def exit_code_of(func: Callable[[], int | None]) -> int:
    """Run ``func``; an ``EdgewatchError`` becomes one line on stderr and exit code 1."""
    try:
        return func() or 0
    except EdgewatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def cli_errors(func: F) -> F:
    """Turn an ``EdgewatchError`` into one line on stderr and exit code 1 (for Typer commands)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        result: list = []
        code = exit_code_of(lambda: result.append(func(*args, **kwargs)))
        if code:
            import typer

            raise typer.Exit(code) from None
        return result[0] if result else None

    return wrapper  # type: ignore[return-value]
