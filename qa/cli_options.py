"""Command-line options several commands share (click; command-line modules only)."""
from __future__ import annotations

import click

#: ``--db URL``: the database of every command that reads or writes the product's data
db_option = click.option(
    "--db", "db_url", metavar="URL", default=None,
    help="Database URL (default: HOTLINE_QA_DATABASE_URL or SQLite in HOTLINE_QA_HOME).")
