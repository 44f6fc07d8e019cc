"""Mail: plain-text messages rendered from templates/mail/ and sent over SMTP
(flask-mailman, MAIL_* settings) by a background job (webapp/jobs.py).

Views queue a message with `send_later` after their commit, so no request waits on SMTP
and no transaction is open while a message goes out. Without MAIL_SERVER (make run)
every message is printed and kept in instance/outbox/, where a newcomer can click the
link."""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import Flask, current_app, render_template
from flask_mailman import EmailMessage, Mail
from flask_mailman.backends.base import BaseEmailBackend

from webapp.db import db
from webapp.errors import DomainError

log = logging.getLogger(__name__)
mail = Mail()


class MailUnavailable(DomainError):
    """The job queue refused the message: nothing was sent."""

    status = 503
    default_message = "We cannot send email right now. Please try again in a few minutes."


class OutboxEmailBackend(BaseEmailBackend):
    """No MAIL_SERVER: print each message and keep it as a .eml file in the outbox."""

    def send_messages(self, email_messages: list[EmailMessage]) -> int:
        outbox = Path(self.mailman.file_path)
        outbox.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            data = message.message().as_bytes()
            stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
            path = outbox / f"{stamp}.eml"
            path.write_bytes(data)
            print(f"\n--- mail (kept in {path}) ---\n{data.decode('utf-8', 'replace')}\n--- end of mail ---",
                  file=sys.stdout, flush=True)
        return len(email_messages)


def init_mail(app: Flask) -> None:
    if not app.config.get("MAIL_BACKEND"):
        app.config["MAIL_BACKEND"] = "smtp" if app.config.get("MAIL_SERVER") else "webapp.mail.OutboxEmailBackend"
    mail.init_app(app)


def send_later(to: str, subject: str, template: str, **context: Any) -> None:
    """Render templates/mail/<template>.txt and queue it for the mail job. Call it after
    the request's commit. Raises MailUnavailable when the queue cannot take it."""
    message = {
        "to": to,
        "subject": subject,
        "body": render_template(f"mail/{template}.txt", **context),
    }
    _end_transaction()
    try:
        current_app.extensions["marquee_jobs"].send_mail(message)
    except Exception as exc:  # the queue's storage (SQLite file, Redis) did not answer
        log.error("Could not queue mail %r to %s: %s", subject, to, exc)
        raise MailUnavailable() from exc


def _end_transaction() -> None:
    """Reading what a message shows (attributes expired by the commit) begins a new
    transaction, on SQLite a write one in a POST: end it before the message is queued
    (and, in immediate mode, sent)."""
    session = db.session
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("Queue mail after the commit: this session has unsaved changes.")
    session.rollback()


def deliver(message: dict[str, str], *, retries_left: int = 0) -> None:
    """Send one queued message (runs in the job worker, in an app context)."""
    email = EmailMessage(
        subject=message["subject"],
        body=message["body"],
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[message["to"]],
    )
    try:
        email.send()
    except Exception as exc:
        then = f"trying again ({retries_left} more tries)" if retries_left else "giving up"
        log.error("Sending mail %r to %s failed: %s; %s", message["subject"], message["to"], exc, then)
        raise
    log.info("Sent mail %r to %s", message["subject"], message["to"])
