"""Serve an app on 127.0.0.1 in a thread, for tests that need real concurrent HTTP."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from flask import Flask, has_app_context
from werkzeug.serving import make_server

from webapp.accounts.models import User


@contextlib.contextmanager
def serve(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def session_cookie(app: Flask, user: User) -> dict[str, str]:
    """A signed session cookie that logs `user` in, as the login form would (with a new
    login session, committed)."""
    from webapp.accounts.services import open_login_session
    from webapp.db import db

    with contextlib.nullcontext() if has_app_context() else app.app_context():
        open_login_session(user, user_agent="")
        db.session.commit()
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    value = serializer.dumps({"_user_id": user.get_id(), "_fresh": True})
    return {app.config["SESSION_COOKIE_NAME"]: value}
