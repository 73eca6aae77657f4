"""The ``hotline-qa worker`` command: embedded worker processes, or a Celery worker."""
from __future__ import annotations

import time

import click

from qa.cli_options import db_option
from qa.settings import get_settings
from qa.worker import WorkerPool


@click.command("worker")
@click.option("--processes", "-n", type=int, default=None,
              help="Worker processes (default: settings workers / HOTLINE_QA_WORKERS).")
@click.option("--celery", is_flag=True,
              help="Run a Celery worker (Redis broker, settings broker_url) instead.")
@db_option
@click.option("--queue", default=None, help="Celery queue (default: settings celery_queue).")
def worker_cmd(processes: int | None, celery: bool, db_url: str | None,
               queue: str | None) -> None:
    """Run workers that process the queued calls until stopped (Ctrl-C).

    Embedded workers claim jobs straight from the database; with --celery the jobs arrive
    through the Redis broker (send them with `hotline-qa ingest --executor celery`).

    Example: hotline-qa worker --celery -n 2 --db postgresql+psycopg://postgres@127.0.0.1/hqa
    """
    from sqlalchemy.exc import SQLAlchemyError

    from models import upgrade
    settings = get_settings()
    if db_url:
        settings = settings.model_copy(update={"database_url": db_url})
    url = settings.effective_database_url
    from qa.settings import require_device
    require_device(settings)
    from qa.transcript_index import ensure_current
    try:
        upgrade(url)
        ensure_current(url)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"无法连接数据库 / cannot reach the database: {exc}") from exc
    from models import make_engine
    from qa.ingest import UPLOADS_TIDY_S, tidy_uploads
    from qa.pii import install_log_masking
    install_log_masking(url)  # the masking policy's ``logs``
    engine = make_engine(url)
    tidy_uploads(engine, settings)  # what a stopped server left in home/uploads
    n = processes or settings.workers
    if celery:
        engine.dispose()  # no pooled connection into Celery's forked children
        from qa.alert_sender import spawn_sender
        from qa.worker_celery import run_celery_worker
        # The alert outbox is sent by a spawned process, not a thread of this one: Celery's
        # prefork pool forks this process, and a child forked while the thread held a lock
        # (import, logging, connection pool) hangs for ever (it did, loading the model).
        sender = spawn_sender(url, settings)
        try:
            run_celery_worker(url, concurrency=n, queue=queue or settings.celery_queue)
        finally:
            sender.stop.set()
            sender.join(10)
            if sender.is_alive():
                sender.kill()
        return
    pool = WorkerPool(url, settings, n).start()
    click.echo(f"{n} 个处理进程已启动 / {n} worker process(es) running; Ctrl-C stops them")
    last_tidy = time.monotonic()
    try:
        while True:
            time.sleep(1)
            pool.check()
            if time.monotonic() - last_tidy >= UPLOADS_TIDY_S:
                last_tidy = time.monotonic()
                tidy_uploads(engine, settings)
    except KeyboardInterrupt:
        pass
    finally:
        pool.stop()
