"""``hotline-qa report monthly|weekly|complaints`` — exports from the stored results."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from qa.cli_options import db_option
from qa.reports import FORMATS


def _run(kind: str, month: str | None, week: str | None, fmt: str, output: Path | None,
         db_url: str | None) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from models import session_scope
    from qa import report_data
    from qa.settings import get_settings

    settings = get_settings()
    url = db_url or settings.effective_database_url
    try:
        with session_scope(url) as db:
            doc = report_data.build(db, kind, month=month, week=week, settings=settings)
            data = report_data.render(doc, fmt)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"无法读取数据库 / cannot read the database {url}: "
                                   f"{exc.__class__.__name__}: {exc}. "
                                   "Run 'hotline-qa db upgrade' first.") from None
    if output is None:
        if fmt == "xlsx":
            raise click.ClickException("Excel 需要用 -o 指定输出文件 / xlsx needs -o FILE")
        sys.stdout.write(data.decode("utf-8-sig"))
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    click.echo(f"已导出 {doc.title} → {output}")


def _options(f):
    f = db_option(f)
    f = click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                     help="Output file (default: stdout; required for xlsx).")(f)
    f = click.option("--format", "fmt", type=click.Choice(FORMATS), default="xlsx",
                     show_default=True)(f)
    return f


@click.group("report")
def report_cmd() -> None:
    """Export reports: monthly assessment, weekly complaint report, complaint statistics.

    Example: hotline-qa report monthly --month 2026-11 --format xlsx -o 2026-11.xlsx
    """


@report_cmd.command("monthly")
@click.option("--month", required=True, help="YYYY-MM")
@_options
def monthly(month: str, fmt: str, output: Path | None, db_url: str | None) -> None:
    """Monthly assessment per agent and team (月度考核).

    Example: hotline-qa report monthly --month 2026-11 --format csv -o 2026-11.csv
    """
    _run("monthly", month, None, fmt, output, db_url)


@report_cmd.command("weekly")
@click.option("--week", required=True, help="ISO week, YYYY-Www")
@click.option("--month", help="(ignored; the week decides)")
@_options
def weekly(week: str, month: str | None, fmt: str, output: Path | None,
           db_url: str | None) -> None:
    """Weekly complaint report (投诉处理周报, standards 3.10.3).

    Example: hotline-qa report weekly --week 2026-W47 --format xlsx -o w47.xlsx
    """
    _run("weekly", None, week, fmt, output, db_url)


@report_cmd.command("complaints")
@click.option("--month", required=True, help="YYYY-MM")
@_options
def complaints(month: str, fmt: str, output: Path | None, db_url: str | None) -> None:
    """Complaint statistics by type, scenario and estate (standards 3.7.2).

    Example: hotline-qa report complaints --month 2026-11 --format json
    """
    _run("complaints", month, None, fmt, output, db_url)
