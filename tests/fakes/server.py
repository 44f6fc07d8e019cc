"""The lifecycle every local fake server shares: a WSGI app on 127.0.0.1 (a free port)
in a daemon thread; stop() leaves the address refusing connections ("service down")."""

from __future__ import annotations

import threading
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class LocalServer:
    thread_name = "fake-server"

    def __init__(self) -> None:
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _before_start(self) -> None:
        """Prepare state the server needs (keys, fixtures) before it answers."""

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._before_start()
        server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self._server = server
        self._url = f"http://127.0.0.1:{server.server_port}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
