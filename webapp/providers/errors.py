"""What a failed provider call raises.

`message` is written for the person looking at the page ("TMDB is not answering right
now…"); `detail` is for the log (HTTP status, the provider's own error text) and never
holds credentials. Services catch `ProviderError` and show the message beside whatever
local or cached results they have."""

from __future__ import annotations

DEFAULT_PROVIDER = "The catalog service"


class ProviderError(Exception):
    # The HTTP-like code the response cache remembers a failure by (see cache.py).
    status = 502
    template = "{provider} sent an answer Marquee could not use."

    def __init__(self, provider: str = DEFAULT_PROVIDER, message: str | None = None, *, detail: str = "") -> None:
        self.provider = provider
        self.message = message or self.template.format(provider=provider)
        self.detail = detail
        super().__init__(f"{self.message} [{detail}]" if detail else self.message)


class ProviderUnavailable(ProviderError):
    """Down, slow, rate-limited or over quota: worth trying again later."""

    status = 503
    template = "{provider} is not answering right now. Please try again in a moment."


class ProviderNotFound(ProviderError):
    status = 404
    template = "{provider} has no record of that."


class ProviderAuthError(ProviderError):
    """The provider refused our credentials (or, for MusicBrainz, our User-Agent)."""

    status = 401
    template = "{provider} refused Marquee's credentials; an administrator needs to check the configuration."


class ProviderBadResponse(ProviderError):
    """An answer we cannot read: HTML instead of JSON, truncated JSON, missing fields."""

    status = 502
    template = "{provider} sent an answer Marquee could not read."


_BY_STATUS: dict[int, type[ProviderError]] = {
    cls.status: cls for cls in (ProviderBadResponse, ProviderUnavailable, ProviderNotFound, ProviderAuthError)
}


def error_class_for(status: int) -> type[ProviderError]:
    """The error class a remembered failure code stands for (ProviderError.status)."""
    return _BY_STATUS.get(status, ProviderBadResponse)


class QueueBusy(ProviderUnavailable):
    """The provider's shared request queue (or another request's fetch of the same
    answer) would keep this caller waiting longer than it is willing to (`patience`):
    nothing failed, the answer can be asked for again in a moment. The response cache
    does not remember it as a failure."""

    template = "{provider} is busy: its results are still coming."
