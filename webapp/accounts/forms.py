from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from webapp.accounts.passwords import MAX_LENGTH, MIN_LENGTH
from webapp.accounts.services import USERNAME_HELP, normalise_username, username_problem


def _username(form: FlaskForm, field: StringField) -> None:
    if field.data and (problem := username_problem(normalise_username(field.data))):
        raise ValidationError(problem)


def _birth_date(form: FlaskForm, field: DateField) -> None:
    if field.data is None:
        return
    if field.data > date.today():
        raise ValidationError("Your birth date cannot be in the future.")
    if field.data.year < 1900:
        raise ValidationError("Please enter a year from 1900 on.")


_password_len = Length(min=MIN_LENGTH, max=MAX_LENGTH, message=f"Use {MIN_LENGTH} to {MAX_LENGTH} characters.")


class RegisterForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)])
    username = StringField(
        "Username", validators=[DataRequired(), Length(max=30), _username], description=USERNAME_HELP
    )
    display_name = StringField("Display name", validators=[DataRequired(), Length(max=50)])
    password = PasswordField("Password", validators=[DataRequired(), _password_len])
    birth_date = DateField("Birth date (optional)", validators=[Optional(), _birth_date])


class LoginForm(FlaskForm):
    login = StringField("Email or username", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)])


class ProfileForm(FlaskForm):
    display_name = StringField("Display name", validators=[DataRequired(), Length(max=50)])
    username = StringField(
        "Username", validators=[DataRequired(), Length(max=30), _username], description=USERNAME_HELP
    )
    email = EmailField("Email", validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)])
    bio = TextAreaField("Bio", validators=[Optional(), Length(max=500)], description="Up to 500 characters.")
    is_private = BooleanField(
        "Private profile", description="Only friends see your ratings, weeks, collections and friends."
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[Optional(), Length(max=MAX_LENGTH)])
    password = PasswordField("New password", validators=[DataRequired(), _password_len])
    confirm = PasswordField(
        "Repeat new password", validators=[DataRequired(), EqualTo("password", message="The passwords differ.")]
    )


class DeleteAccountForm(FlaskForm):
    confirm_username = StringField(
        "Type your username to confirm", validators=[DataRequired(), Length(max=30)]
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), _password_len])
    confirm = PasswordField(
        "Repeat new password", validators=[DataRequired(), EqualTo("password", message="The passwords differ.")]
    )
