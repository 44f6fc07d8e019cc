"""Mail for real: verification, password reset, email change and the notices, followed
through a real local SMTP server (tests/fakes/smtp.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from tests.conftest import login, make_app
from tests.factories import DEFAULT_PASSWORD
from tests.fakes.smtp import free_port
from tests.live import serve, session_cookie
from webapp.accounts import tokens
from webapp.accounts.models import User
from webapp.db import db

NEW_PASSWORD = "orchid-lantern-1987"
SIGN_UP = {"email": "nova@example.com", "username": "nova", "display_name": "Nova", "password": DEFAULT_PASSWORD}


def path(link: str) -> str:
    return urlsplit(link).path


def fresh(user_id: int) -> User:
    db.session.rollback()  # see what the requests committed
    user = db.session.get(User, user_id, populate_existing=True)
    assert user is not None
    return user


def old_token(app, kind, **payload) -> str:  # type: ignore[no-untyped-def]
    """A genuine token of `kind`, signed one second after it expired."""

    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - kind[1] - 1

    return URLSafeTimedSerializer(app.secret_key, salt=kind[0], signer=Past).dumps(payload)


def simultaneously(calls):  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(len(calls))

    def run(call):  # type: ignore[no-untyped-def]
        barrier.wait(timeout=10)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


# -- registration and verification ---------------------------------------------------------


class TestVerification:
    def test_sign_up_is_unverified_until_the_mailed_link_is_followed(self, client, mailbox):
        response = client.post("/register", data=SIGN_UP)
        assert response.status_code == 303 and response.headers["Location"] == "/register/check-inbox"
        user = db.session.scalar(select(User).where(User.username == "nova"))
        assert user.email_verified_at is None
        (message,) = mailbox.to("nova@example.com")
        assert message.subject == "Confirm your email for Marquee"
        link = path(message.links[0])

        page = client.get(link)  # the link's page writes nothing
        assert page.status_code == 200 and "nova@example.com" in page.get_data(as_text=True)
        assert fresh(user.id).email_verified_at is None

        response = client.post(link)
        assert response.status_code == 303 and response.headers["Location"] == "/"
        assert fresh(user.id).email_verified_at is not None
        assert "Hello, Nova" in client.get("/").get_data(as_text=True)

        used = client.post(link)  # single use
        assert used.status_code == 404 and "already been used" in used.get_data(as_text=True)
        assert client.get(link).status_code == 404

    def test_expired_forged_and_stale_links_fail_kindly(self, app, client, make_user):
        ann = make_user(username="ann", email_verified_at=None)
        expired = old_token(app, tokens.VERIFY_EMAIL, user=ann.id, email=ann.email)
        other_salt = tokens.make(tokens.RESET_PASSWORD, user=ann.id, email=ann.email)
        stale = tokens.make(tokens.VERIFY_EMAIL, user=ann.id, email="before@example.com")
        for token in (expired, other_salt, stale, "not-a-token"):
            response = client.post(f"/verify-email/{token}")
            assert response.status_code == 404, token
            assert "cannot be used" in response.get_data(as_text=True)
        assert fresh(ann.id).email_verified_at is None
        assert client.get(f"/verify-email/{expired}").status_code == 404

    def test_a_taken_email_gets_the_same_answer_and_its_owner_a_notice(self, app, mailbox, make_user):
        make_user(username="owner", email="nova@example.com")
        answers = []
        for email, username in (("nova@example.com", "nova"), ("free@example.com", "free")):
            client = app.test_client()
            response = client.post("/register", data={**SIGN_UP, "email": email, "username": username})
            page = client.get(response.headers["Location"])
            answers.append((response.status_code, response.headers["Location"], page.status_code,
                            page.get_data(as_text=True)))
        assert answers[0] == answers[1]
        assert db.session.scalar(select(User.id).where(User.username == "nova")) is None
        (notice,) = mailbox.to("nova@example.com")
        assert notice.subject == "Someone tried to sign up with your address"
        assert "owner" in notice.body and "/verify-email/" not in notice.body
        assert mailbox.to("free@example.com")[0].subject == "Confirm your email for Marquee"
        # Another try within the hour: the same answer again, and no second notice.
        response = app.test_client().post("/register", data={**SIGN_UP, "username": "nova2"})
        assert response.status_code == 303 and response.headers["Location"] == answers[0][1]
        assert len(mailbox.to("nova@example.com")) == 1

    def test_a_taken_username_is_still_told(self, client, make_user):
        make_user(username="nova")
        response = client.post("/register", data={**SIGN_UP, "email": "else@example.com"})
        assert response.status_code == 422 and "That username is taken." in response.get_data(as_text=True)

    def test_unverified_people_log_in_and_can_ask_for_a_new_link(self, client, mailbox, make_user):
        ann = make_user(username="ann", email_verified_at=None)
        response = client.post("/login", data={"login": "ann", "password": DEFAULT_PASSWORD})
        assert response.status_code == 303
        home = client.get("/").get_data(as_text=True)
        assert "Please confirm your email" in home and "Resend the link" in home
        response = client.post("/verify-email/resend", data={"next": "/weeks"})
        assert response.status_code == 303 and response.headers["Location"] == "/weeks"
        link = path(mailbox.last_link("ann@example.com"))
        assert client.post(link).status_code == 303
        assert fresh(ann.id).email_verified_at is not None
        assert "Please confirm your email" not in client.get("/").get_data(as_text=True)

    def test_verified_people_see_no_notice(self, client, auth):
        assert "Please confirm your email" not in client.get("/").get_data(as_text=True)

    def test_simultaneous_uses_of_one_link_verify_once(self, app, app_ctx, make_user):
        ann = make_user(username="ann", email_verified_at=None)
        token = tokens.make(tokens.VERIFY_EMAIL, user=ann.id, email=ann.email)
        with serve(app) as base:
            post = lambda: requests.post(  # noqa: E731
                f"{base}/verify-email/{token}", allow_redirects=False, timeout=30
            ).status_code
            statuses = simultaneously([post] * 8)
        assert sorted(statuses) == [303] + [404] * 7, statuses


# -- password reset ----------------------------------------------------------------------------


class TestPasswordReset:
    def test_login_page_offers_it(self, client):
        assert 'href="/password/forgot"' in client.get("/login").get_data(as_text=True)

    def test_same_answer_whether_or_not_the_address_exists(self, app, mailbox, make_user):
        make_user(username="ann")
        answers = []
        for email in ("ann@example.com", "nobody@example.com"):
            response = app.test_client().post("/password/forgot", data={"email": email})
            answers.append((response.status_code, response.headers["Location"]))
        assert answers[0] == answers[1] == (303, "/register/check-inbox?reset=1")
        assert [m.to for m in mailbox.received] == [["ann@example.com"]]

    def test_reset_validates_ends_every_session_and_works_once(self, app, client, mailbox, make_user):
        ann = make_user(username="ann", email_verified_at=None)
        elsewhere = app.test_client()
        login(elsewhere, ann)
        assert elsewhere.get("/settings").status_code == 200
        client.post("/password/forgot", data={"email": "ANN@example.com"})
        message = mailbox.to("ann@example.com")[-1]
        assert message.subject == "Reset your Marquee password"
        link = path(message.links[0])

        page = client.get(link)  # writes nothing
        assert page.status_code == 200 and "Choose a new password" in page.get_data(as_text=True)
        weak = client.post(link, data={"password": "password", "confirm": "password"})
        assert weak.status_code == 422
        assert 'id="password-error"' in weak.get_data(as_text=True)
        differ = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"})
        assert differ.status_code == 422 and "The passwords differ." in differ.get_data(as_text=True)
        assert fresh(ann.id).password_hash == ann.password_hash

        done = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert done.status_code == 303 and done.headers["Location"] == "/login"
        assert elsewhere.get("/settings").status_code == 302  # that session has ended
        assert fresh(ann.id).email_verified_at is not None  # the link proved the address
        assert client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 404
        assert client.get(link).status_code == 404
        logged_in = client.post("/login", data={"login": "ann", "password": NEW_PASSWORD})
        assert logged_in.status_code == 303

    def test_a_link_is_spent_once_the_password_changes_and_expires_in_an_hour(self, app, client, make_user):
        ann = make_user(username="ann")
        from webapp.accounts.services import password_fingerprint

        fingerprint = password_fingerprint(ann.password_hash)
        expired = old_token(app, tokens.RESET_PASSWORD, user=ann.id, email=ann.email, password=fingerprint)
        assert client.get(f"/password/reset/{expired}").status_code == 404
        good = tokens.make(tokens.RESET_PASSWORD, user=ann.id, email=ann.email, password=fingerprint)
        assert client.get(f"/password/reset/{good}").status_code == 200
        login(client, ann)
        client.post("/settings/password", data={"current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD,
                                                "confirm": NEW_PASSWORD})
        assert client.get(f"/password/reset/{good}").status_code == 404

    def test_simultaneous_uses_of_one_link_reset_once(self, app, app_ctx, make_user):
        from webapp.accounts.services import password_fingerprint

        ann = make_user(username="ann")
        token = tokens.make(tokens.RESET_PASSWORD, user=ann.id, email=ann.email,
                            password=password_fingerprint(ann.password_hash))
        with serve(app) as base:
            def reset(password):  # type: ignore[no-untyped-def]
                return lambda: requests.post(
                    f"{base}/password/reset/{token}", data={"password": password, "confirm": password},
                    allow_redirects=False, timeout=30,
                ).status_code

            statuses = simultaneously([reset(f"{NEW_PASSWORD}-{i}") for i in range(4)])
        assert sorted(statuses) == [303, 404, 404, 404], statuses


def test_reset_is_limited_per_client_and_per_address(app, database_url, make_user):
    limited = make_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_PASSWORD_RESET="3 per minute",
                       RATELIMIT_PASSWORD_RESET_ADDRESS="2 per minute", RATELIMIT_KEY_PREFIX=f"r{time.time_ns()}")
    make_user(username="ann")
    client = limited.test_client()
    statuses = [client.post("/password/forgot", data={"email": f"x{i}@example.com"}).status_code for i in range(4)]
    assert statuses == [303, 303, 303, 429]
    # One address from ever new clients: two a minute.
    statuses = [
        limited.test_client().post("/password/forgot", data={"email": "ann@example.com"},
                                   environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code
        for i in range(3)
    ]
    assert statuses == [303, 303, 429]


# -- email change (item 2, item 7) -------------------------------------------------------------


def profile(user: User, email: str) -> dict[str, str]:
    return {"display_name": user.display_name, "username": user.username, "email": email, "bio": ""}


class TestEmailChange:
    def test_the_address_changes_only_by_the_link_and_the_old_one_is_told(self, client, auth, mailbox):
        user, old = auth.user, auth.user.email
        response = client.post("/settings", data=profile(user, "New@Example.com"))
        assert response.status_code == 303
        assert fresh(user.id).email == old
        (message,) = mailbox.to("new@example.com")
        link = path(message.links[0])
        assert client.get(link).status_code == 200
        assert fresh(user.id).email != "new@example.com"  # the page writes nothing

        assert client.post(link).status_code == 303
        changed = fresh(user.id)
        assert changed.email == "new@example.com" and changed.email_verified_at is not None
        (notice,) = mailbox.to(old)
        assert notice.subject == "Your Marquee email has changed" and "new@example.com" in notice.body
        assert client.post(link).status_code == 404  # single use
        assert client.get(link).status_code == 404

    def test_an_unverified_address_is_verified_by_the_change_link(self, client, auth, mailbox, make_user):
        ann = auth.login(make_user(username="ann", email_verified_at=None))
        client.post("/settings", data=profile(ann, "ann@elsewhere.example"))
        assert client.post(path(mailbox.last_link("ann@elsewhere.example"))).status_code == 303
        assert fresh(ann.id).email_verified_at is not None

    def test_a_taken_address_is_not_told_its_owner_is(self, client, auth, mailbox, make_user):
        make_user(username="holder", email="taken@example.com")
        old = auth.user.email
        answers = []
        for address in ("taken@example.com", "free@example.com"):
            response = client.post("/settings", data=profile(auth.user, address), follow_redirects=True)
            answers.append((response.status_code, response.get_data(as_text=True).replace(address, "X")))
        assert answers[0] == answers[1]
        (notice,) = mailbox.to("taken@example.com")
        assert notice.subject == "Someone tried to use your address on Marquee"
        assert "/settings/email/" not in notice.body
        assert fresh(auth.user.id).email == old

    def test_a_link_to_an_address_taken_meanwhile_fails_kindly(self, client, auth, mailbox, make_user):
        client.post("/settings", data=profile(auth.user, "later@example.com"))
        link = path(mailbox.last_link("later@example.com"))
        make_user(username="quick", email="later@example.com")
        response = client.post(link)
        assert response.status_code == 404
        assert "belongs to another account" in response.get_data(as_text=True)

    def test_simultaneous_uses_of_one_link_change_once(self, app, app_ctx, make_user):
        ann = make_user(username="ann")
        token = tokens.make(tokens.CHANGE_EMAIL, user=ann.id, old=ann.email, new="ann@new.example")
        with serve(app) as base:
            post = lambda: requests.post(  # noqa: E731
                f"{base}/settings/email/{token}", allow_redirects=False, timeout=30
            ).status_code
            statuses = simultaneously([post] * 6)
        assert sorted(statuses) == [303] + [404] * 5, statuses


def test_settings_posts_are_limited(app, database_url, make_user):
    limited = make_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_SETTINGS="3 per minute",
                       RATELIMIT_KEY_PREFIX=f"s{time.time_ns()}")
    ann = make_user(username="ann")
    client = limited.test_client()
    login(client, ann)
    statuses = [client.post("/settings", data=profile(ann, f"probe{i}@example.com")).status_code for i in range(4)]
    assert statuses == [303, 303, 303, 429]


# -- delivery ------------------------------------------------------------------------------------


def test_a_queue_that_cannot_take_mail_is_a_503_page_not_a_500(app, database_url):
    down = make_app(database_url, JOBS_IMMEDIATE=False, REDIS_URL=f"redis://127.0.0.1:{free_port()}/2")
    response = down.test_client().post("/register", data=SIGN_UP)
    assert response.status_code == 503
    assert "cannot send email right now" in response.get_data(as_text=True)


def test_a_mail_server_that_is_down_is_logged_and_retried_not_a_500(app, database_url, caplog):
    down = make_app(database_url, MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    with caplog.at_level(logging.INFO):
        response = down.test_client().post("/register", data=SIGN_UP)
    assert response.status_code == 303 and response.headers["Location"] == "/register/check-inbox"
    failures = [r.getMessage() for r in caplog.records if r.name == "webapp.mail" and r.levelno == logging.ERROR]
    assert failures and "nova@example.com" in failures[0] and "trying again (3 more tries)" in failures[0]
    assert any("Requeueing" in r.getMessage() for r in caplog.records if r.name.startswith("huey"))


def test_the_worker_command_delivers_queued_mail(app, database_url, mailbox, make_user, tmp_path):
    """Mail queued by a request (SQLite queue, not immediate) is sent by `flask jobs worker`
    running as its own process, as `make run` starts it."""
    import os
    import signal
    import subprocess
    import sys

    from webapp.config import PROJECT_ROOT

    queue = str(tmp_path / "jobs.sqlite3")
    queued = make_app(database_url, JOBS_IMMEDIATE=False, JOBS_SQLITE_PATH=queue)
    make_user(username="ann")
    response = queued.test_client().post("/password/forgot", data={"email": "ann@example.com"})
    assert response.status_code == 303
    assert queued.extensions["marquee_jobs"].huey.pending_count() == 1
    assert mailbox.to("ann@example.com") == []  # nothing is sent by the request itself

    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "FLASK_", "MAIL_", "JOBS_"))}
    env.update(SECRET_KEY="worker-test", DATABASE_URL=database_url, MAIL_SERVER="127.0.0.1",
               MAIL_PORT=str(mailbox.port), JOBS_SQLITE_PATH=queue, FLASK_APP="webapp")
    worker = subprocess.Popen([sys.executable, "-m", "flask", "jobs", "worker", "--workers", "1"], cwd=PROJECT_ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        (message,) = mailbox.wait_for("ann@example.com", timeout=60)
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert message.subject == "Reset your Marquee password", output
    assert "/password/reset/" in message.links[0]
    assert "Sent mail 'Reset your Marquee password' to ann@example.com" in output


def test_without_a_mail_server_mail_is_printed_and_kept_in_the_outbox(app, database_url, tmp_path, capsys):
    """`make run` for a newcomer: no MAIL_SERVER, and the link is there to click."""
    dev = make_app(database_url, MAIL_SERVER=None, MAIL_FILE_PATH=str(tmp_path / "outbox"))
    dev.test_client().post("/register", data=SIGN_UP)
    (kept,) = (tmp_path / "outbox").iterdir()
    text = kept.read_text()
    assert "To: nova@example.com" in text and "http://localhost/verify-email/" in text
    printed = capsys.readouterr().out
    assert "http://localhost/verify-email/" in printed and str(kept) in printed


def test_mail_is_sent_after_the_commit_with_no_transaction_open(app, database_url, mailbox):
    """While the SMTP server receives the message, another connection already sees the
    new account and can take the write lock (SQLite) or lock its row (PostgreSQL)."""
    from sqlalchemy import create_engine, text

    from webapp.config import normalise_database_url

    engine = create_engine(normalise_database_url(database_url))
    seen: list[object] = []

    def look(_message):  # type: ignore[no-untyped-def]
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA busy_timeout = 0")
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                seen.append(conn.execute(text("SELECT username FROM users WHERE username = 'nova'")).scalar())
            else:
                conn.execute(text("SET lock_timeout = '1ms'"))
                seen.append(conn.execute(
                    text("SELECT username FROM users WHERE username = 'nova' FOR UPDATE NOWAIT")
                ).scalar())
            conn.rollback()

    mailbox.on_receive = look
    try:
        response = app.test_client().post("/register", data=SIGN_UP)
    finally:
        engine.dispose()
    assert response.status_code == 303
    assert seen == ["nova"]


def test_resending_the_link_is_limited(app, database_url, mailbox, make_user):
    limited = make_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_RESEND_LINK="2 per minute",
                       RATELIMIT_KEY_PREFIX=f"v{time.time_ns()}")
    ann = make_user(username="ann", email_verified_at=None)
    client = limited.test_client()
    login(client, ann)
    statuses = [client.post("/verify-email/resend").status_code for _ in range(3)]
    assert statuses == [303, 303, 429]
    assert len(mailbox.to("ann@example.com")) == 2
