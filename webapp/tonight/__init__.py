"""Tonight sessions: a time-boxed, blind vote over a frozen deck from a group's watchlist."""

# The web layer (blueprint and routes) is in views.py; create_app registers it.
