from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.catalog.services import KIND_LABELS, SEARCH_TYPES
from webapp.numbers import id_from
from webapp.forms import IntegerRange
from webapp.groups import services
from webapp.groups.watchlist import KIND_FILTERS, NOTE_MAX, SORTS, STATUS_FILTERS


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (friends to add, members who were there)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: FlaskForm) -> None:
        # Choices are checked by the service (friends only, members only): a stale form
        # gets that clear message rather than wtforms' "not a valid choice".
        pass

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = [number for number in map(id_from, valuelist) if number is not None]


class GroupForm(FlaskForm):
    name = StringField("Group name", validators=[DataRequired(message="Give the group a name."),
                                                 Length(max=services.NAME_MAX)])
    members = MultiCheckboxField("Friends to add", coerce=int, validators=[Optional()])


class RenameForm(FlaskForm):
    name = StringField("Group name", validators=[DataRequired(message="Give the group a name."),
                                                 Length(max=services.NAME_MAX)])


class AddMembersForm(FlaskForm):
    members = MultiCheckboxField("Friends to add", coerce=int, validators=[Optional()])


class GroupInviteForm(FlaskForm):
    days = IntegerField(
        "Valid for (days)",
        default=services.INVITE_DAYS_DEFAULT,
        validators=[Optional(), IntegerRange(1, services.INVITE_DAYS_MAX,
                                             message=f"Choose 1 to {services.INVITE_DAYS_MAX} days.")],
    )
    max_uses = IntegerField(
        "How many people can use it",
        default=1,
        validators=[Optional(), IntegerRange(1, services.INVITE_USES_MAX,
                                             message=f"Choose 1 to {services.INVITE_USES_MAX} people.")],
    )


class JoinForm(FlaskForm):
    code = StringField(
        "Group code",
        validators=[DataRequired(message="Enter the code you were given."), Length(max=40)],
        description="Ten letters and digits, like 7KQ2M-XW4PD. Case and dashes don't matter.",
    )


class AddItemForm(FlaskForm):
    """Add a search result: `ref` names it (title:12, tmdb:movie:603, mb:<uuid>)."""

    ref = HiddenField(validators=[DataRequired(), Length(max=60)])
    note = StringField("Why (optional)", validators=[Optional(), Length(max=NOTE_MAX)])


class ManualItemForm(FlaskForm):
    kind = SelectField("Kind", choices=dict(KIND_LABELS), default="movie")
    title = StringField("Title", validators=[DataRequired(message="Enter a title."), Length(max=300)])
    year = IntegerField("Year (optional)", validators=[Optional(), IntegerRange(1870, 2200)])
    runtime = IntegerField("Runtime in minutes (optional)", validators=[Optional(), IntegerRange(1, 10000)])
    note = StringField("Why (optional)", validators=[Optional(), Length(max=NOTE_MAX)])


class ItemForm(FlaskForm):
    """The item's own page: note, status and snooze date in one form."""

    note = StringField("Why (optional)", validators=[Optional(), Length(max=NOTE_MAX)])
    status = RadioField("Status", choices={"watchlist": "To watch", "watched": "Watched"}, default="watchlist")
    snoozed_until = DateField("Snoozed until (optional)", validators=[Optional()],
                              description="Out of tonight's pool until this date.")


class SnoozeForm(FlaskForm):
    preset = SelectField("Snooze", choices={"tomorrow": "Until tomorrow", "week": "For a week",
                                            "month": "For a month", "date": "Until a date…"},
                         default="week")
    until = DateField("Until", validators=[Optional()])


class StatusForm(FlaskForm):
    status = HiddenField(validators=[DataRequired()])


class WatchlistFilterForm(FlaskForm):
    """A GET form: nothing is written, so no CSRF token."""

    class Meta:
        csrf = False

    status = SelectField("Status", choices=dict(STATUS_FILTERS), default="", validators=[Optional()])
    kind = SelectField("Kind", choices=dict(KIND_FILTERS), default="", validators=[Optional()])
    tonight = BooleanField("Only what tonight can pick")
    sort = SelectField("Order", choices=dict(SORTS), default="added", validators=[Optional()])


class AddSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = SearchField("Find a film, show or album", validators=[Optional(), Length(max=200)])
    type = SelectField("Type", choices=dict(SEARCH_TYPES), default="all", validators=[Optional()])
