"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for tests
that follow the links Marquee mails."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from collections.abc import Callable
from typing import Any, Self

from aiosmtpd.controller import Controller

LINK = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class Received:
    to: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        return self.message.get_content()  # type: ignore[no-any-return]

    @property
    def links(self) -> list[str]:
        return LINK.findall(self.body)


def free_port() -> int:
    """A port nothing listens on (for "the mail server is down")."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeSMTPServer:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Condition()
        self._controller: Controller | None = None
        self.port = 0
        # Called with each message as it arrives (in the server's thread), before the
        # client is answered: tests look at the world as the sender left it.
        self.on_receive: Callable[[Received], None] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        received = Received(list(envelope.rcpt_tos), message)  # type: ignore[arg-type]
        if self.on_receive is not None:
            self.on_receive(received)
        with self._lock:
            self.received.append(received)
            self._lock.notify_all()
        return "250 Message accepted"

    def start(self) -> Self:
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def clear(self) -> None:
        with self._lock:
            self.received.clear()

    def to(self, address: str) -> list[Received]:
        with self._lock:
            return [m for m in self.received if address in m.to]

    def wait_for(self, address: str, count: int = 1, timeout: float = 30) -> list[Received]:
        """Block until `count` messages to `address` have arrived (mail sent by a worker)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(found := [m for m in self.received if address in m.to]) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no mail to {address} within {timeout} s; got {self.received}")
                self._lock.wait(remaining)
            return found

    def last_link(self, address: str) -> str:
        """The link in the latest message to `address`."""
        messages = self.to(address)
        assert messages, f"no mail to {address}; got {[m.to for m in self.received]}"
        links = messages[-1].links
        assert links, f"no link in: {messages[-1].body}"
        return links[0]
