"""Base form for every form in the portal: Indonesian messages for WTForms' built-ins."""
from flask_wtf import FlaskForm

from portal.labels import WTFORMS_MESSAGES


class _IndonesianMessages:
    def gettext(self, string):
        return WTFORMS_MESSAGES.get(string, string)

    def ngettext(self, singular, plural, n):
        return self.gettext(singular if n == 1 else plural)


class Form(FlaskForm):
    class Meta:
        def get_translations(self, form):
            return _IndonesianMessages()
