"""The catalog of films and albums: search, browse, title pages, external providers."""

# The web layer (blueprint and routes) is in views.py; create_app registers it.
