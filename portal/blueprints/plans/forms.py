from wtforms import (BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField,
                     TimeField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from portal import labels
from portal.forms import Form
from portal.labels import REQUIRED, TOO_LONG
from portal.blueprints.rumahdata.indicators import citable
from portal.models.plan import PARTS
from portal.models.pokja import SEKSI


def _optional_int(value):
    return int(value) if value not in (None, "") else None


def _text(label, max_length, hint=None):
    return StringField(label, validators=[Optional(), Length(max=max_length, message=TOO_LONG)],
                       description=hint or "")


class PlanCreateForm(Form):
    year = IntegerField("Tahun", validators=[DataRequired(REQUIRED), NumberRange(2000, 2100)])
    copy_previous = BooleanField("Salin dari tahun lalu (jadwal digeser satu tahun)")


class RowForm(Form):
    part = SelectField("Bagian", choices=[SelectChoice(k, f"{k}. {t}") for k, (t, _s) in PARTS.items()])
    kegiatan = StringField("Kegiatan", validators=[DataRequired(REQUIRED), Length(max=300, message=TOO_LONG)])
    description = TextAreaField("Uraian (opsional)", validators=[Optional(), Length(max=2000, message=TOO_LONG)])
    pelaksana = _text("Pelaksana", 300, "mis. Tim Pendamping Keluarga")
    seksi = SelectField("Seksi penanggung jawab", default="",
                        choices=[SelectChoice("", "— sesuai bagian —")] +
                        [SelectChoice(s, labels.SEKSI_SHORT[s]) for s in SEKSI])
    sasaran = _text("Sasaran", 300, "mis. Keluarga risiko stunting (KRS)")
    target_count = IntegerField("Jumlah sasaran", validators=[Optional(), NumberRange(min=0, message="Tidak boleh negatif.")])
    target_unit = _text("Satuan", 40, "mis. keluarga, orang")
    mitra = _text("Mitra", 300, "mis. Kader Posyandu, PPKBD, Nakes Puskesmas")
    place = _text("Tempat (opsional)", 200)
    schedule_text = _text("Waktu", 200, "mis. Sebulan sekali, Maret - Des · Sepanjang tahun · tiap minggu")
    schedule_read_from = StringField(widget=HiddenInput())
    start_date = DateField("Mulai", validators=[Optional()])
    end_date = DateField("Selesai", validators=[Optional()])
    frequency = SelectField("Frekuensi", default="", choices=[SelectChoice("", "—")] +
                            [SelectChoice(k, v) for k, v in labels.FREQUENCIES.items()])
    interval = IntegerField("Setiap … kali (interval)", validators=[Optional(), NumberRange(1, 12)])
    day_of_month = IntegerField("Tanggal", validators=[Optional(), NumberRange(1, 31)])
    weekday = SelectField("Hari", coerce=_optional_int, choices=[SelectChoice("", "—")] +
                          [SelectChoice(str(i), d) for i, d in enumerate(labels.WEEKDAYS)])
    start_time = TimeField("Jam mulai", validators=[Optional()])
    duration_minutes = IntegerField("Durasi (menit)", validators=[Optional(), NumberRange(min=1)])
    indicator = SelectField("Indikator Rumah Data yang dituju (opsional)", default="", choices=[SelectChoice("", "— tidak ada —")] + [
        SelectChoice(key, text, optgroup=title) for title, options in citable() for key, text in options],
        description="mis. Pendampingan KRS → Keluarga berisiko stunting (KRS); dasbor menampilkan angkanya berdampingan")
    funding_text = _text("Sumber dana", 300, "mis. BOKB Rp 1.500.000 · APBD (Dinkes) · swadaya")
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])

    def for_service(self):
        data = {k: v for k, v in self.data.items() if k != "csrf_token"}
        data["seksi"] = data["seksi"] or None
        data["frequency"] = data["frequency"] or None
        return data
