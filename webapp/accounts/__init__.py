"""Accounts: sign-up, login sessions, passwords, email confirmation and OAuth sign-in."""

# The web layer (blueprint and routes) is in views.py; create_app registers it.
