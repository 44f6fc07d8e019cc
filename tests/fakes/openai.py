"""A local OpenAI-compatible chat-completions server for the suggestion client's tests.

`FakeOpenAI` answers POST /v1/chat/completions with objects shaped like OpenAI's
(id, object "chat.completion", created, model, choices[0].message, finish_reason,
usage), and errors like OpenAI's ({"error": {message, type, param, code}}). It wants
`Authorization: Bearer <api_key>`, else 401 "invalid_api_key".

Tests steer it with `mode`:

    "good"      a wish request (told apart by its system prompt) gets `fake.wish` as
                JSON; a rerank request gets its candidate ids reversed, or `fake.order`
                when a test sets one
    "nonsense"  200 with an unusable answer; `fake.nonsense` picks one of NONSENSE
    "timeout"   sleeps `timeout_delay` seconds, then answers as "good"
    "error"     `fake.error_status` (401, 429, 500 or 503), 429 and 503 with a
                Retry-After of `fake.retry_after`; `fake.error_times` limits how many
                requests fail before it answers as "good" again (None: all)

    with FakeOpenAI() as fake:
        client = LlmClient(session, base_url=fake.url, api_key=fake.api_key, model="m")
        fake.requests[-1].headers["Authorization"]
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.server import LocalServer

MODES = ("good", "nonsense", "timeout", "error")
DEFAULT_WISH: dict[str, Any] = {"format": "movie", "max_runtime": 120, "genres": ["Comedy"], "exclude_watched": True}

# Unusable answers, all with HTTP 200: the message content (None: a refusal), or a dict
# whose "body" replaces the choices (a mapping) or the whole response (a string).
NONSENSE: dict[str, Any] = {
    "prose": "Sure! A light comedy under two hours sounds perfect for tonight.",
    "truncated": '{"format": "movie", "max_runtime": 1',
    "array": '["movie", 120, ["Comedy"], true]',
    "string": '"movie"',
    "wrong-shape": '{"answer": {"format": "movie"}, "order": "first one"}',
    "wrong-types": (
        '{"format": 3, "max_runtime": "two hours", "genres": "Comedy", "exclude_watched": "yes", "order": {}}'
    ),
    "null-content": None,
    "no-choices": {"body": {"choices": []}},
    "not-json-body": {"body": "upstream said: everything is fine", "content_type": "application/json"},
    "html-body": {"body": "<!doctype html><title>Bad gateway</title><h1>502</h1>", "content_type": "text/html"},
}

ERRORS = {
    401: (
        "Incorrect API key provided: sk-te****ake. You can find your API key in your account settings.",
        "invalid_request_error",
        "invalid_api_key",
    ),
    429: ("Rate limit reached for requests. Please try again in 20ms.", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON body, or None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body["messages"] if isinstance(self.body, dict) else []

    @property
    def system(self) -> str:
        return next((m["content"] for m in self.messages if m.get("role") == "system"), "")

    @property
    def user(self) -> str:
        return next((m["content"] for m in self.messages if m.get("role") == "user"), "")


class FakeOpenAI(LocalServer):
    thread_name = "fake-openai"

    def __init__(self, *, api_key: str = "sk-test-fake", timeout_delay: float = 0.6) -> None:
        super().__init__()
        self.api_key = api_key
        self.timeout_delay = timeout_delay
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.mode = "good"
        self.wish: dict[str, Any] = dict(DEFAULT_WISH)
        self.order: list[Any] | None = None
        self.content: str | None = None  # when set, "good" answers this content as is
        self.nonsense = "prose"
        self.error_status = 500
        self.retry_after: str | None = None
        self.error_times: int | None = None
        self.requests: list[Recorded] = []

    @property
    def url(self) -> str:
        """The base URL a client is given (like OpenAI's, it ends in /v1)."""
        assert self._url is not None, "start the server first"
        return f"{self._url}/v1"

    # -- WSGI ------------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self._answer(request)
        return response(environ, start_response)

    def _answer(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            body = None
        with self._lock:
            self.requests.append(Recorded(request.method, request.path, dict(request.headers), body))
        if request.path != "/v1/chat/completions":
            return self._error(404, f"Unknown request URL: {request.method} {request.path}.", "invalid_request_error")
        if request.method != "POST":
            return self._error(405, "Method not allowed.", "invalid_request_error")
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._error(401, *ERRORS[401])
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return self._error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
        if self.mode == "error" and self._still_failing():
            message, kind, code = ERRORS.get(self.error_status, ERRORS[500])
            headers = {"Retry-After": self.retry_after or "1"} if self.error_status in (429, 503) else {}
            return self._error(self.error_status, message, kind, code, headers)
        if self.mode == "timeout":
            time.sleep(self.timeout_delay)
        if self.mode == "nonsense":
            return self._nonsense(body)
        return self._completion(body, self._good_content(body))

    def _still_failing(self) -> bool:
        with self._lock:
            if self.error_times is None:
                return True
            if self.error_times <= 0:
                return False
            self.error_times -= 1
            return True

    def _good_content(self, body: dict[str, Any]) -> str:
        if self.content is not None:
            return self.content
        recorded = Recorded("POST", "", {}, body)
        if '"order"' in recorded.system:  # the rerank prompt asks for {"order": [...]}
            if self.order is not None:
                return json.dumps({"order": self.order})
            try:
                candidates = json.loads(recorded.user)["candidates"]
                ids = [c["id"] for c in candidates]
            except (ValueError, KeyError, TypeError):
                ids = []
            return json.dumps({"order": ids[::-1]})
        return json.dumps(self.wish)

    def _nonsense(self, body: dict[str, Any]) -> Response:
        variant = NONSENSE[self.nonsense]
        if isinstance(variant, dict):
            data = variant["body"]
            if isinstance(data, str):
                return Response(data, status=200, content_type=variant.get("content_type", "application/json"))
            return self._json({**self._envelope(body), **data})
        return self._completion(body, variant)

    # -- OpenAI's shapes ---------------------------------------------------------------------

    def _envelope(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            number = len(self.requests)
        return {
            "id": f"chatcmpl-fake{number:06d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": f"{body.get('model', 'unknown')}-2024-07-18",
            "system_fingerprint": "fp_fake",
        }

    def _completion(self, body: dict[str, Any], content: str | None) -> Response:
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"] if isinstance(m, dict))
        completion_tokens = len((content or "").split())
        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
        if content is None:
            message["refusal"] = "I'm sorry, I can't help with that."
        return self._json(
            {
                **self._envelope(body),
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    def _error(
        self, status: int, message: str, kind: str, code: str | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        return self._json({"error": {"message": message, "type": kind, "param": None, "code": code}}, status, headers)

    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        response = Response(json.dumps(data), status=status, content_type="application/json")
        for key, value in (headers or {}).items():
            response.headers[key] = value
        return response


__all__ = ["DEFAULT_WISH", "ERRORS", "FakeOpenAI", "MODES", "NONSENSE", "Recorded"]
