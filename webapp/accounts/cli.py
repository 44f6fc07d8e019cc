from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp.accounts import services
from webapp.db import db, write_transaction
from webapp.errors import DomainError

users_cli = AppGroup("users", help="Manage Marquee accounts.")


@users_cli.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--username", prompt=True)
@click.option("--display-name", default=None, help="Defaults to the username.")
@click.password_option("--password", help="Prompted for (hidden) when not given.")
def create_admin(email: str, username: str, display_name: str | None, password: str) -> None:
    """Create an admin account, or make an existing account (by username) an admin."""
    with write_transaction():
        try:
            user = services.create_admin(
                email=email, username=username, display_name=display_name or username, password=password
            )
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from error
        db.session.commit()
    click.echo(f"{user.username} is an admin.")



