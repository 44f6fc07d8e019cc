"""Admin pages: genres and manual titles. Everyone but admins gets a 404 here."""

# The web layer (blueprint and routes) is in views.py; create_app registers it.
