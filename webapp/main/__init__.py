"""The home page and the health check."""

# The web layer (blueprint and routes) is in views.py; create_app registers it.
