from wtforms.fields.choices import SelectChoice
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.forms import Form, parse_int
from portal.labels import REQUIRED, TOO_LONG


class KampungForm(Form):
    name = StringField("Nama Kampung KB", validators=[DataRequired(REQUIRED), Length(max=120, message=TOO_LONG)])
    desa_id = SelectField("Desa/Kelurahan", coerce=int, validators=[DataRequired(REQUIRED)])
    sk_number = StringField("Nomor SK Pokja", validators=[Optional(), Length(max=120, message=TOO_LONG)])
    sk_date = DateField("Tanggal SK Pokja", validators=[Optional()])
    founded_on = DateField("Tanggal pencanangan", validators=[Optional()])
    address = TextAreaField("Alamat sekretariat", validators=[Optional(), Length(max=500, message=TOO_LONG)])
    version = HiddenField()  # the profile's version when the form was opened (editing only)

    def set_desa_choices(self, desa_list, current=None):
        """Offer the allowed desa (grouped by kecamatan); keep the current one selectable."""
        options = list(desa_list)
        if current is not None and current not in options:
            options.insert(0, current)
        self.desa_id.choices = [SelectChoice(0, "— pilih desa/kelurahan —")] + [
            SelectChoice(w.id, w.display_name,
                         optgroup=w.parent.display_name if w.parent else "Wilayah induk belum tercatat")
            for w in options
        ]

    def data_for_service(self, include_desa):
        data = {k: v for k, v in self.data.items() if k not in ("csrf_token", "desa_id", "version")}
        data["version"] = parse_int(self.version.data)
        if include_desa:
            data["desa_id"] = self.desa_id.data
        return data
