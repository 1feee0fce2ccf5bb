"""``edgewatch generate``: text from a character-generator bundle, on the device runtime (no TensorFlow)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from edgewatch.errors_cli import cli_errors

__all__ = ["generate"]


@cli_errors
def generate(
    bundle: Annotated[Path, typer.Option(exists=True, file_okay=False, help="A char-generator bundle.")],
    prompt: Annotated[str, typer.Option(help="Text to continue.")] = "",
    temperature: Annotated[float, typer.Option(help="Below 1: safer text; above 1: wilder; 0: always the most "
                                                    "likely character.")] = 0.5,
    length: Annotated[int, typer.Option(help="Characters to generate.")] = 200,
    seed: Annotated[Optional[int], typer.Option(help="Random seed, for repeatable output.")] = None,
    variant: Annotated[Optional[str], typer.Option(help="Variant to run (default: the bundle's).")] = None,
) -> None:
    """Continue PROMPT with characters sampled from the model at TEMPERATURE."""
    from edge.bundle import load_bundle
    from edge.errors import ConfigError
    from edge.generate import CharGenerator

    if temperature < 0 or length < 1:
        raise ConfigError("--temperature must be >= 0 and --length >= 1")
    generator = CharGenerator(load_bundle(bundle), variant)
    try:
        typer.echo(prompt + generator.generate(prompt, length, temperature, seed))
    finally:
        generator.close()
