from wtforms import BooleanField, IntegerField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.forms import Form
from portal.labels import REQUIRED, SEKSI_SHORT, TOO_LONG
from portal.models.calendar import SCOPES


class SubscriptionForm(Form):
    name = StringField("Nama langganan", validators=[DataRequired(REQUIRED), Length(max=60, message=TOO_LONG)],
                       description="Misalnya \"HP saya\" atau \"Laptop kantor\": satu langganan per perangkat.")
    # Choices are offered per user; the service says why a scope is refused (validate_choice off).
    scope = RadioField("Isi kalender", default="saya", validate_choice=False,
                       validators=[DataRequired("Pilih isi kalender.")])
    kampung = SelectField("Kampung KB", coerce=int, validate_choice=False)
    seksi = SelectField("Seksi", choices=[SelectChoice("", "— pilih seksi —")]
                        + [SelectChoice(k, v) for k, v in SEKSI_SHORT.items()], validate_choice=False)
    wilayah = SelectField("Kecamatan atau kabupaten", coerce=int, validate_choice=False)
    months_back = IntegerField("Bulan lalu", default=1, validators=[Optional(), NumberRange(0, 24)])
    months_ahead = IntegerField("Bulan depan", default=12, validators=[Optional(), NumberRange(0, 24)])
    reminder = BooleanField("Ingatkan sehari sebelum kegiatan")

    def set_choices(self, kampungs, wilayahs, own_activities=True):
        scopes = dict(SCOPES)
        if not wilayahs:
            scopes.pop("wilayah")
        if not own_activities:
            scopes.pop("saya")
        self.scope.choices = [SelectChoice(k, v) for k, v in scopes.items()]
        self.kampung.choices = [SelectChoice(k.id, k.name) for k in kampungs]
        self.wilayah.choices = [SelectChoice(0, "— pilih wilayah —")] + [SelectChoice(w.id, w.display_name)
                                                                         for w in wilayahs]
