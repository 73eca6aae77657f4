"""Commands of the web app: ``users``, ``serve`` and ``run`` (the whole service).

``hotline-qa run`` is the README's main job: it brings the database up to date, creates the
first admin (printing a one-time password) when there is none, copies the example calls into
the watched inbox, starts ingestion with in-process workers, and serves the web app and API.
"""
from __future__ import annotations

import logging
import shutil
import sys
import threading
from pathlib import Path

import click

from qa.cli_options import db_option

log = logging.getLogger("hotline_qa.api.cli")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "calls"


def _settings(db_url: str | None = None):
    from qa.settings import get_settings
    s = get_settings()
    return s.model_copy(update={"database_url": db_url}) if db_url else s


def _upgrade(url: str) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from models import upgrade
    from qa.transcript_index import ensure_current
    try:
        upgrade(url)
        ensure_current(url)  # the search index of an older tokenizer (or none) is rebuilt
    except SQLAlchemyError as exc:
        raise click.ClickException(f"无法打开数据库 / cannot open the database {url}: {exc}"
                                   ) from None


# --- users ----------------------------------------------------------------------------------------

@click.group("users")
def users_cmd() -> None:
    """Manage logins: add users, set passwords, list.

    Example: hotline-qa users add zhang --role agent --agent-id A1001
    """


def _read_password(generate: bool) -> tuple[str, bool]:
    from api.security import generate_password
    if generate:
        return generate_password(), True
    if not sys.stdin.isatty():
        pw = sys.stdin.readline().rstrip("\n")
        if not pw:
            raise click.ClickException("标准输入中没有密码 / no password on stdin")
        return pw, False
    return click.prompt("密码 / password", hide_input=True, confirmation_prompt=True), False


@users_cmd.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "supervisor", "agent"]), required=True)
@click.option("--agent-id", help="The agent's id (工号); required for --role agent.")
@click.option("--name", "display_name", help="Display name.")
@click.option("--generate", is_flag=True, help="Generate a random password and print it.")
@db_option
def users_add(username: str, role: str, agent_id: str | None, display_name: str | None,
              generate: bool, db_url: str | None) -> None:
    """Add a user (the password is prompted for, read from stdin, or generated).

    Example: hotline-qa users add li --role supervisor --generate
    """
    from api.services.errors import ServiceError
    from api.services.users import create_user
    from models import session_scope

    s = _settings(db_url)
    _upgrade(s.effective_database_url)
    password, shown = _read_password(generate)
    try:
        with session_scope(s.effective_database_url) as db:
            create_user(db, None, username, password, role, agent_id, display_name,
                        create_agent=True, one_time=shown)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"已创建用户 {username}（{role}）/ user created")
    if shown:
        click.echo(f"密码 / password: {password}")


@users_cmd.command("passwd")
@click.argument("username")
@click.option("--generate", is_flag=True, help="Generate a random password and print it.")
@db_option
def users_passwd(username: str, generate: bool, db_url: str | None) -> None:
    """Set a user's password (ends their sessions).

    Example: hotline-qa users passwd zhang
    """
    from sqlalchemy import select

    from api.services.errors import ServiceError
    from api.services.users import set_password
    from models import User, session_scope

    s = _settings(db_url)
    _upgrade(s.effective_database_url)
    with session_scope(s.effective_database_url) as db:
        user = db.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"用户 {username} 不存在 / no such user")
        password, shown = _read_password(generate)
        try:
            set_password(db, None, user, password, one_time=shown)
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(f"已更新 {username} 的密码 / password changed")
    if shown:
        click.echo(f"密码 / password: {password}")


@users_cmd.command("list")
@db_option
def users_list(db_url: str | None) -> None:
    """List users.

    Example: hotline-qa users list
    """
    from sqlalchemy import select

    from models import User, session_scope

    s = _settings(db_url)
    _upgrade(s.effective_database_url)
    with session_scope(s.effective_database_url) as db:
        for u in db.scalars(select(User).order_by(User.id)):
            click.echo(f"{u.username}\t{u.role}\t{u.agent_id or '-'}\t"
                       f"{'active' if u.active else 'disabled'}")


# --- serve, run -----------------------------------------------------------------------------------

def _serve(settings, host: str, port: int) -> None:
    import uvicorn

    from api.app import create_app
    try:
        app = create_app(settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    uvicorn.run(app, host=host, port=port, log_level="warning")


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: HOTLINE_QA_HOST).")
@click.option("--port", type=int, default=None, help="Port (default: HOTLINE_QA_PORT, 8000).")
@db_option
def serve_cmd(host: str | None, port: int | None, db_url: str | None) -> None:
    """Serve the web app and the API only (no ingestion, no workers).

    Example: hotline-qa serve --port 8080
    """
    s = _settings(db_url)
    _upgrade(s.effective_database_url)
    host, port = host or s.host, port or s.port
    click.echo(f"热线质检 / Hotline QA: http://{host}:{port}/  (API: /api/docs)")
    _serve(s, host, port)


def first_admin(url: str) -> tuple[str, str] | None:
    """Create the first admin when none exists; ``(username, one-time password)`` or None."""
    from api.services.users import ensure_first_admin
    from models import session_scope
    with session_scope(url) as db:
        made = ensure_first_admin(db)
        return (made[0].username, made[1]) if made else None


def load_examples(inbox: Path) -> int:
    """Copy the shipped example calls (and their sidecars) into ``inbox/examples``; returns
    how many files were new."""
    dest = inbox / "examples"
    dest.mkdir(parents=True, exist_ok=True)
    n = 0
    for src in sorted(EXAMPLES.glob("*")) if EXAMPLES.is_dir() else []:
        target = dest / src.name
        if src.is_file() and not target.exists():
            # sidecars first would be fine too: the ingestor waits for them
            shutil.copy2(src, target)
            n += 1
    return n


@click.command("run")
@click.option("--host", default=None, help="Address to listen on (default: HOTLINE_QA_HOST).")
@click.option("--port", type=int, default=None, help="Port (default: HOTLINE_QA_PORT, 8000).")
@click.option("--inbox", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder watched for recordings (default: HOTLINE_QA_HOME/inbox).")
@click.option("--workers", "-n", type=int, default=None,
              help="Worker processes (default: HOTLINE_QA_WORKERS, 1).")
@click.option("--no-examples", is_flag=True, help="Do not load the example calls.")
def run_cmd(host: str | None, port: int | None, inbox: Path | None, workers: int | None,
            no_examples: bool) -> None:
    """Run the whole service: database, first admin, folder ingestion with workers, web app.

    Example: hotline-qa run --port 8000
    """
    s = _settings()
    from qa.settings import require_device
    require_device(s)  # HOTLINE_QA_DEVICE=cuda on a machine without a GPU: say so now
    host, port = host or s.host, port or s.port
    url = s.effective_database_url
    Path(s.home).mkdir(parents=True, exist_ok=True)
    _upgrade(url)
    made = first_admin(url)
    inbox = inbox or Path(s.home) / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    if not no_examples:
        load_examples(inbox)

    from qa.ingest import run_ingest
    stop = threading.Event()
    failure: list[BaseException] = []

    def _ingest() -> None:
        try:
            run_ingest(inbox, settings=s, workers=workers, stop=stop)
        except BaseException as exc:  # noqa: BLE001 - reported on the console
            failure.append(exc)
            log.exception("ingestion stopped")
            click.echo(f"录音收取已停止 / ingestion stopped: {exc}", err=True)

    thread = threading.Thread(target=_ingest, name="ingest", daemon=True)
    thread.start()
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo("")
    click.echo("热线质检已启动 / Hotline QA is running")
    click.echo(f"  网址 / URL:        http://{shown}:{port}/")
    click.echo(f"  API 文档 / docs:   http://{shown}:{port}/api/docs")
    click.echo(f"  录音文件夹 / inbox: {inbox}  (放入录音即自动质检 / drop recordings here)")
    click.echo(f"  数据目录 / home:    {s.home}")
    if made:
        click.echo("")
        click.echo("  首次登录 / first login:")
        click.echo(f"    用户名 / username: {made[0]}")
        click.echo(f"    一次性密码 / one-time password: {made[1]}")
        click.echo("    请登录后立即修改密码；此密码不会再次显示 / change it after logging in; "
                   "it is not shown again.")
        click.echo("    添加用户 / add users: hotline-qa users add NAME --role supervisor")
    else:
        click.echo("  登录 / log in with your account (reset: hotline-qa users passwd admin)")
    click.echo("  按 Ctrl-C 停止 / press Ctrl-C to stop")
    click.echo("")
    try:
        _serve(s, host, port)
    finally:
        stop.set()
        thread.join(timeout=60)
