"""Scale-out: the same jobs run on Celery workers (Redis broker) sharing the database.

The database stays the source of truth: a Celery message only says "job N may be due"; the
task claims the job with the same atomic claim and lease as the embedded workers
(:func:`qa.worker.claim_job`), so a duplicated or redelivered message does nothing, and a
lost one is sent again by the :class:`Dispatcher` (``redispatch``: queued jobs not sent for a
lease period, and running jobs whose lease ran out).

``hotline-qa worker --celery`` runs :func:`run_celery_worker`; ``hotline-qa ingest
--executor celery`` sends the jobs.
"""
from __future__ import annotations

import logging
import os
from datetime import timedelta
from functools import lru_cache

from celery import Celery
from sqlalchemy import Engine, and_, or_, select, update

from models import Job, make_engine, session_scope
from qa.settings import Settings, get_settings, use_settings

log = logging.getLogger("hotline_qa.celery")

TASK_NAME = "hotline_qa.process_job"

app = Celery("hotline_qa")
app.conf.update(
    task_acks_late=True,  # a worker killed mid-task leaves the message for another one
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json", accept_content=["json"], result_backend=None,
    task_ignore_result=True, broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


def configure(settings: Settings | None = None) -> Celery:
    """Point the app at the broker of ``settings`` (``broker_url``)."""
    settings = settings or get_settings()
    app.conf.broker_url = settings.broker_url
    app.conf.task_default_queue = settings.celery_queue
    return app


@lru_cache(maxsize=1)
def _engine() -> Engine:
    return make_engine(get_settings().effective_database_url)


@lru_cache(maxsize=1)
def _owner() -> str:
    from qa.worker import worker_name
    return worker_name()


@app.task(name=TASK_NAME, ignore_result=True)
def process_job_task(job_id: int) -> str:
    """Claim job ``job_id`` (if still due) and run it; returns the outcome or ``skipped``."""
    from qa.worker import claim_job, load_analyzer, process_job
    settings = get_settings()
    engine = _engine()
    owner = _owner()
    jid = claim_job(engine, owner, settings.job_lease_s, job_id)
    if jid is None:
        return "skipped"
    return process_job(engine, jid, owner, settings, load_analyzer(settings.analyzer))


class Dispatcher:
    """Sends due jobs to the broker and remembers when (``jobs.dispatched_at``)."""

    def __init__(self, engine: Engine, settings: Settings | None = None):
        self.engine = engine
        self.settings = settings or get_settings()
        configure(self.settings)

    def send(self, job_id: int) -> None:
        from qa.worker import utcnow
        app.send_task(TASK_NAME, args=[job_id], queue=self.settings.celery_queue)
        with session_scope(self.engine) as s:
            s.execute(update(Job).where(Job.id == job_id).values(dispatched_at=utcnow()))

    def redispatch(self) -> int:
        """Send again the jobs that are due but were not sent recently. Returns how many."""
        from qa.worker import utcnow
        now = utcnow()
        stale = now - timedelta(seconds=self.settings.job_lease_s)
        due = or_(Job.next_attempt_at.is_(None), Job.next_attempt_at <= now)
        with session_scope(self.engine) as s:
            ids = s.scalars(select(Job.id).where(
                Job.attempts < Job.max_attempts,
                or_(and_(Job.state == "queued", due,
                         or_(Job.dispatched_at.is_(None), Job.dispatched_at < stale)),
                    and_(Job.state == "running", Job.lease_expires_at < now,
                         or_(Job.dispatched_at.is_(None), Job.dispatched_at < now
                             - timedelta(seconds=5))))).order_by(Job.id)).all()
        for jid in ids:
            self.send(jid)
        return len(ids)


def run_celery_worker(db_url: str, concurrency: int = 2, queue: str | None = None,
                      loglevel: str = "INFO") -> None:
    """Run a Celery worker (prefork, ``concurrency`` processes) for this product's jobs
    against the database ``db_url``; blocks until stopped."""
    get_settings.cache_clear()
    settings = get_settings().model_copy(update={"database_url": db_url})
    use_settings(settings)  # the tasks (forked from here) read this database
    configure(settings)
    app.worker_main(["worker", f"--concurrency={concurrency}", "--pool=prefork",
                     f"--queues={queue or settings.celery_queue}", f"--loglevel={loglevel}",
                     "--without-gossip", "--without-mingle", "--without-heartbeat",
                     f"--hostname=hotline-qa-{os.getpid()}@%h"])
