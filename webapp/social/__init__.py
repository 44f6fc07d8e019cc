"""Friends, friend requests, invite links and profiles."""

# The web layer (blueprint and routes) is in views.py; create_app registers it.
