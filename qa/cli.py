"""The ``hotline-qa`` command line: a thin click layer over the library.

Commands of the domain core are defined in this package; commands of the packages above it
(transcription, classifiers, storage, the web app) are contributed through the
``hotline_qa.commands`` entry-point group declared in ``pyproject.toml`` and loaded only when
used, so ``qa`` never imports the packages that depend on it.
"""
from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points

import click

# Commands that live in qa itself: name -> "module:attribute".
CORE_COMMANDS: dict[str, str] = {}
CORE_COMMANDS["ingest"] = "qa.ingest:ingest_cmd"
CORE_COMMANDS["worker"] = "qa.worker_cli:worker_cmd"
CORE_COMMANDS["calls"] = "qa.calls:calls_cmd"
CORE_COMMANDS["report"] = "qa.report_cli:report_cmd"
CORE_COMMANDS["analyze"] = "qa.analyze_cli:analyze_cmd"
CORE_COMMANDS["rules"] = "qa.analyze_cli:rules_cmd"
CORE_COMMANDS["acts"] = "qa.acts_cli:acts_cmd"
CORE_COMMANDS["alerts"] = "qa.alert_sender:alerts_cmd"


def _contributed() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group="hotline_qa.commands")}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use."""

    def _targets(self) -> dict[str, str]:
        return {**_contributed(), **CORE_COMMANDS}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._targets()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        cmd = super().get_command(ctx, name)
        if cmd is not None:
            return cmd
        target = self._targets().get(name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        try:
            cmd = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            reason = (f"命令 {name} 无法加载 / command '{name}' could not be loaded "
                      f"({target}): {exc}. Reinstall the package: pip install -e .")

            def _unavailable() -> None:
                raise click.ClickException(reason)

            return click.Command(name, callback=_unavailable, short_help="(unavailable)",
                                 help=reason)
        return cmd


@click.group(cls=LazyGroup)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.version_option(package_name="hotline-qa")
def main(verbose: int) -> None:
    """热线质检 Hotline QA — check recorded hotline calls against the service standards."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from qa.pii import install_log_filter
    # personal data in log messages is masked; the commands that open the database (serve,
    # run, ingest, worker) then follow the stored policy's ``logs`` (qa.pii.install_log_masking)
    install_log_filter()


if __name__ == "__main__":  # pragma: no cover
    main()
