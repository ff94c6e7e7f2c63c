"""The entry form of one period: a count field per indicator, months for a partial round, a note."""
import re

from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional
from wtforms.widgets import HiddenInput

from portal.blueprints.rumahdata.indicators import COUNTS
from portal.formatting import MONTHS
from portal.forms import Form
from portal.labels import TOO_LONG

_THOUSANDS = re.compile(r"^\d{1,3}([.,]\d{3})+$")


def read_count(text):
    """"1.250", "1,250", "1250" and " 1 250 " → 1250; "" → None. Raises ValueError with an
    Indonesian message for anything else."""
    cleaned = (text or "").strip().replace(" ", "").replace("\u00a0", "")
    if cleaned == "":
        return None
    if _THOUSANDS.match(cleaned):
        cleaned = re.sub(r"[.,]", "", cleaned)
    if cleaned.startswith("-") and cleaned[1:].isdigit():
        raise ValueError("Tidak boleh negatif.")
    if not (cleaned.isascii() and cleaned.isdigit()):
        raise ValueError("Isi dengan bilangan bulat, mis. 1250 (tanpa koma desimal atau huruf).")
    if len(cleaned) > 9:
        raise ValueError("Terlalu besar (paling banyak 10.000.000).")
    return int(cleaned)


class CountField(StringField):
    """A whole number typed as people type it; the raw text comes back when it cannot be read."""

    def process_formdata(self, valuelist):
        self.raw = valuelist[0] if valuelist else ""
        try:
            self.data = read_count(self.raw)
        except ValueError as exc:
            self.data = None
            raise ValueError(str(exc)) from None

    def _value(self):
        if getattr(self, "raw", None) is not None and self.process_errors:
            return self.raw
        return "" if self.data is None else str(self.data)


_MONTHS = [SelectChoice("", "—")] + [SelectChoice(str(i), name) for i, name in enumerate(MONTHS, start=1)]


def _month(value):
    return int(value) if value not in (None, "", "None") else None


class _Base(Form):
    month_from = SelectField("Dari bulan", coerce=_month, choices=_MONTHS, validators=[Optional()])
    month_to = SelectField("Sampai bulan", coerce=_month, choices=_MONTHS, validators=[Optional()])
    note = TextAreaField("Catatan (opsional)", validators=[Optional(), Length(max=2000, message=TOO_LONG)],
                         description="mis. sumber data, tanggal verifikasi, hal yang perlu diperiksa")
    version = StringField(widget=HiddenInput(), validators=[Optional()])


DataForm = type("DataForm", (_Base,), {
    i.key: CountField(i.label, description=i.unit, render_kw={"inputmode": "numeric", "autocomplete": "off"})
    for i in COUNTS
})


def values_of(form):
    return {i.key: form[i.key].data for i in COUNTS}
