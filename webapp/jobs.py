"""Background jobs on huey: a SQLite queue in instance/ by default, Redis when
REDIS_URL is set. `flask jobs worker` runs them (`make run` starts one beside the
development server). With JOBS_IMMEDIATE (the tests) a job runs as it is queued, in
huey's documented immediate mode."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from huey import Huey, RedisHuey, SqliteHuey

from webapp.mail import deliver


@dataclass(frozen=True)
class Jobs:
    huey: Huey
    send_mail: Any  # huey task: send_mail(message) queues one message


def make_huey(config: dict[str, Any]) -> Huey:
    immediate = bool(config.get("JOBS_IMMEDIATE"))
    if config.get("REDIS_URL"):
        return RedisHuey("marquee", url=config["REDIS_URL"], results=False, immediate=immediate)
    return SqliteHuey("marquee", filename=config["JOBS_SQLITE_PATH"], results=False, immediate=immediate)


def init_jobs(app: Flask) -> None:
    """Each app has its own queue and tasks: the worker builds the app the same way."""
    huey = make_huey(app.config)

    @huey.task(retries=app.config["MAIL_RETRIES"], retry_delay=app.config["MAIL_RETRY_DELAY"],
               retry_backoff=2, context=True, name="send_mail")
    def send_mail(message: dict[str, str], task: Any = None) -> None:
        with app.app_context():
            deliver(message, retries_left=task.retries if task is not None else 0)

    app.extensions["marquee_jobs"] = Jobs(huey, send_mail)


jobs_cli = AppGroup("jobs", help="Background jobs (mail).")


@jobs_cli.command("worker")
@click.option("--workers", default=2, show_default=True, help="Threads running jobs.")
def worker(workers: int) -> None:
    """Run queued jobs until stopped (Ctrl-C or SIGTERM)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    huey = current_app.extensions["marquee_jobs"].huey
    click.echo(f"Jobs worker: {type(huey.storage).__name__}, {workers} threads.")
    huey.create_consumer(workers=workers, worker_type="thread", scheduler_interval=1).run()
