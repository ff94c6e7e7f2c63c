"""Base form for every form in the portal: Indonesian messages for WTForms' built-ins, control
characters taken out of text, and whole numbers kept within what the database column holds."""
import re

from flask import abort
from flask_wtf import FlaskForm

from portal.labels import WTFORMS_MESSAGES

# C0 control characters except tab, newline and carriage return, and DEL. PostgreSQL cannot
# store NUL at all; the others are never typed on purpose and break exports.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# INTEGER columns (SQLite's and PostgreSQL's) hold a signed 32-bit number in PostgreSQL.
INTEGER_MAX = 2_147_483_647
TOO_BIG = "Angka terlalu besar."


def without_control_characters(value):
    return CONTROL_CHARACTERS.sub("", value) if isinstance(value, str) else value


def _cleaned(value):
    """Control characters out; whitespace only is empty (``Optional()`` stops the other
    validators on it, so a long run of spaces would otherwise reach a VARCHAR column)."""
    value = without_control_characters(value)
    return "" if isinstance(value, str) and not value.strip() else value


def parse_int(text):
    """A whole number written with ASCII digits only (``"²"`` is a digit to ``str.isdigit``, not
    to ``int``), within the INTEGER range; otherwise None."""
    text = (text if isinstance(text, str) else str(text if text is not None else "")).strip()
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= INTEGER_MAX else None


class _IndonesianMessages:
    def gettext(self, string):
        return WTFORMS_MESSAGES.get(string, string)

    def ngettext(self, singular, plural, n):
        return self.gettext(singular if n == 1 else plural)


class Form(FlaskForm):
    class Meta:
        def get_translations(self, form):
            return _IndonesianMessages()

        def bind_field(self, form, unbound_field, options):
            filters = unbound_field.kwargs.get("filters") or ()
            return unbound_field.bind(form=form, filters=(*filters, _cleaned), **options)

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        for field in self:
            number = isinstance(field.data, int) and not isinstance(field.data, bool)
            if number and abs(field.data) > INTEGER_MAX:  # IntegerField, or a select of ids
                field.errors = [*field.errors, TOO_BIG] if isinstance(field.errors, list) else [TOO_BIG]
                valid = False
            if field.errors and getattr(field.widget, "input_type", None) == "hidden":
                # Nobody types into a hidden field (a row's version, a part): a bad value means a
                # broken or tampered page, and an error beside an invisible field says nothing.
                abort(400)
        return valid
