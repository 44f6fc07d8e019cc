"""Weekly picks: one film and one album per person per ISO week."""

# The web layer (blueprint and routes) is in views.py; create_app registers it.
