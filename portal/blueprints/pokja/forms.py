from datetime import date

from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import HiddenInput

from portal import labels
from portal.forms import Form
from portal.labels import REQUIRED, TOO_LONG
from portal.models.pokja import ROLES, SEKSI


class PositionForm(Form):
    """Change a position's holder details (role and seksi are fixed once created)."""
    person_name = StringField("Nama", validators=[DataRequired(REQUIRED), Length(max=120, message=TOO_LONG)])
    username = StringField(
        "Akun portal (nama pengguna, opsional)", validators=[Optional(), Length(max=40, message=TOO_LONG)]
    )
    started_on = DateField("Mulai menjabat", validators=[InputRequired(REQUIRED)], default=date.today)
    note = StringField("Catatan (mis. nomor SK)", validators=[Optional(), Length(max=200, message=TOO_LONG)])
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])


class NewPositionForm(PositionForm):
    role = SelectField("Jabatan", choices=[SelectChoice(r, labels.POSITIONS[r]) for r in ROLES])
    seksi = HiddenField()

    def limit_to(self, group):
        """Offer only the roles of the group being added to; the seksi comes from the group."""
        self.role.choices = group.role_choices
        if not self.is_submitted():
            self.seksi.data = group.seksi or ""

    def validate_seksi(self, field):
        if field.data and field.data not in SEKSI:
            raise ValidationError("Seksi tidak dikenal.")


class EndPositionForm(Form):
    ended_on = DateField("Berhenti per tanggal", validators=[InputRequired(REQUIRED)], default=date.today)
