"""``edgewatch doctor`` and ``edgewatch service install``: living on a device for months."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from edge.settings import InferSettings
from edgewatch.errors_cli import cli_errors

__all__ = ["doctor", "service_app"]

service_app = typer.Typer(no_args_is_help=True, help="Run edge-infer as a systemd service.")


@cli_errors
def doctor(
    config: Annotated[Optional[Path], typer.Option(exists=True, dir_okay=False, help="The service's TOML config (as edge-infer --config).")] = None,
    bundle: Annotated[Optional[Path], typer.Option(help="Bundle directory, if not in the config.")] = None,
    source: Annotated[Optional[str], typer.Option(help="Source, if not in the config.")] = None,
    mqtt: Annotated[Optional[str], typer.Option(help="Broker URL, if not in the config.")] = None,
    device_id: Annotated[Optional[str], typer.Option(help="Device id, if not in the config.")] = None,
) -> None:
    """Check backends, devices, the bundle, the broker (TLS, auth), outbox space and the clock; exit 1 on a failure."""
    from edge.doctor import Level, run_checks

    base = InferSettings.from_toml(config) if config else InferSettings()
    settings = base.with_overrides(bundle=bundle, source=source, device_id=device_id, mqtt=dict(url=mqtt))
    checks = run_checks(settings, config)
    for check in checks:
        print(check.line())
    failed = sum(c.level is Level.FAIL for c in checks)
    warned = sum(c.level is Level.WARN for c in checks)
    print(f"\n{failed} failure(s), {warned} warning(s)")
    if failed:
        raise typer.Exit(1)


@service_app.command("install")
@cli_errors
def service_install(
    device_id: Annotated[str, typer.Option(help="Device id written into the sample config.")] = "edge",
    name: Annotated[str, typer.Option(help="Unit name (and /etc/NAME config directory).")] = "edgewatch",
    user: Annotated[str, typer.Option(help="Unprivileged system user the service runs as.")] = "edgewatch",
    prefix: Annotated[Path, typer.Option(help="Write under this root instead of / (for packaging and tests).")] = Path("/"),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the files instead of writing them.")] = False,
) -> None:
    """Write a systemd unit, a sample config and an environment file for secrets; create the user."""
    from edgewatch.service import plan_service, write_service

    plan = plan_service(name, user, device_id, prefix)
    for note in plan.notes:
        print(note)
    if dry_run:
        for path, text, mode, _ in plan.files:
            print(f"# ---- {path} (mode {mode:o})\n{text}")
        return
    real_root = prefix.resolve() == Path("/")
    for line in write_service(plan, create_user=real_root):
        print(line)
    config = Path("/etc") / name / f"{name}.toml"
    print(f"next: edit {config} and {config.with_suffix('.env')}, copy the bundle to /var/lib/edgewatch/bundle, "
          f"then: edgewatch doctor --config {config} && systemctl daemon-reload && systemctl enable --now {name}")
