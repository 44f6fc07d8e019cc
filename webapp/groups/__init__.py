"""Groups of friends and their shared watchlist."""

# The web layer (blueprint and routes) is in views.py; create_app registers it.
