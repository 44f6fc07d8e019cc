"""webapp.forms.html_params renders exactly what wtforms' own function does."""

import pytest
from markupsafe import Markup
from wtforms.widgets import core

from webapp.forms import html_params


@pytest.mark.parametrize(
    "attrs",
    [
        {},
        {"id": "login", "name": "login", "type": "text", "value": ""},
        {"value": 'say "hi" <b>&amp;</b>', "placeholder": "it's"},
        {"required": True, "disabled": False, "maxlength": 254, "min": 0, "step": 0.5},
        {"class_": "button", "for_": "x", "data_hx_target": "#a_b", "aria_described_by": "h"},
        {"value": Markup('<a href="#">x</a>'), "title": None},
        {"name": "\u00e9t\u00e9 \u2014 \U0001f3ac", "value": "\x00\u202e"},
        {"onclick": Markup("alert(1)"), "data_json": '{"a": [1, 2]}'},
    ],
)
def test_same_output_as_wtforms(attrs):
    ours, theirs = html_params(**attrs), core.html_params(**attrs)
    assert ours == theirs
    assert isinstance(ours, Markup)


def test_input_widgets_use_it(app):
    from webapp.accounts.forms import LoginForm

    assert core.Input.html_params is html_params
    with app.test_request_context("/login"):
        form = LoginForm()
        html = form.login(autocomplete="username", spellcheck="false")
    assert html == (
        '<input autocomplete="username" id="login" maxlength="254" name="login" required '
        'spellcheck="false" type="text" value="">'
    )
