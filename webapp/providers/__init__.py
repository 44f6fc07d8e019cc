"""Clients for external catalog services (TMDB, MusicBrainz, Cover Art Archive, OMDb).

The clients import nothing from Flask: they take a requests.Session, a base URL and
credentials, set explicit timeouts, return dataclasses and raise ProviderError."""
