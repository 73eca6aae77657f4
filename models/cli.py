"""``hotline-qa db``: create or migrate the database schema."""
from __future__ import annotations

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from models import db as _db

_DB_OPTION = click.option(
    "--db", "url", metavar="URL", envvar="HOTLINE_QA_DATABASE_URL",
    help="Database URL (default: SQLite in HOTLINE_QA_HOME; env HOTLINE_QA_DATABASE_URL).")


def _show(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@click.group("db")
def db_cmd() -> None:
    """Database schema: create or migrate it.

    Example: hotline-qa db upgrade --db postgresql+psycopg://postgres@127.0.0.1/hotline
    """


@db_cmd.command("upgrade")
@_DB_OPTION
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def upgrade_cmd(url: str | None, revision: str) -> None:
    """Create the tables or migrate them to the newest schema (safe to run again).

    Example: hotline-qa db upgrade
    """
    url = url or _db.default_url()
    try:
        _db.upgrade(url, revision)
        rev = _db.current_revision(url)
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"无法升级数据库 / cannot upgrade the database {_show(url)}: {exc}") from exc
    click.echo(f"数据库已是最新结构 / database is at revision {rev}: {_show(url)}")


@db_cmd.command("current")
@_DB_OPTION
def current_cmd(url: str | None) -> None:
    """Print the schema revision of the database and the newest one shipped.

    Example: hotline-qa db current --db sqlite:////tmp/qa.db
    """
    url = url or _db.default_url()
    try:
        rev = _db.current_revision(url)
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"无法连接数据库 / cannot reach the database {_show(url)}: {exc}") from exc
    head = _db.head_revision()
    state = "up to date" if rev == head else "needs: hotline-qa db upgrade"
    click.echo(f"{_show(url)}: revision {rev or '(none)'}, newest {head} ({state})")
