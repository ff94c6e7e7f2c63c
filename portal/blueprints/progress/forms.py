from flask_wtf.file import FileField
from wtforms import DateField, IntegerField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from portal.forms import Form
from portal.labels import REQUIRED, TOO_LONG
from portal.models.progress import STATUSES


class StatusForm(Form):
    status = SelectField("Status", choices=[SelectChoice(k, v) for k, v in STATUSES.items()])
    percent = IntegerField("Persen selesai (opsional)", validators=[Optional(), NumberRange(0, 100)],
                           description="Kosongkan agar dihitung dari jadwal yang terlaksana.")
    reason = TextAreaField("Alasan (wajib bila Tertunda atau Dibatalkan)",
                           validators=[Optional(), Length(max=1000, message=TOO_LONG)])
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])


class RealisationForm(Form):
    on = DateField("Tanggal pelaksanaan", validators=[DataRequired(REQUIRED)])
    description = TextAreaField("Yang dilaksanakan",
                                validators=[DataRequired(REQUIRED), Length(max=2000, message=TOO_LONG)])
    people_reached = IntegerField("Jumlah orang/keluarga terjangkau",
                                  validators=[Optional(), NumberRange(min=0, message="Tidak boleh negatif.")])
    note = TextAreaField("Catatan (opsional)", validators=[Optional(), Length(max=2000, message=TOO_LONG)])
    photo = FileField("Foto bukti (opsional, JPEG/PNG/WebP, maks. 5 MB)")
