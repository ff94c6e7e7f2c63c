import re

from wtforms.fields.choices import SelectChoice
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal.blueprints.auth.forms import strong_enough
from portal import labels
from portal.forms import Form
from portal.labels import REQUIRED, TOO_LONG

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")


def valid_username(form, field):
    field.data = (field.data or "").strip().lower()
    if not USERNAME_RE.match(field.data):
        raise ValidationError(
            "3–40 karakter: huruf kecil, angka, titik, garis bawah atau tanda hubung; diawali huruf/angka."
        )


class AccountForm(Form):
    full_name = StringField("Nama lengkap", validators=[DataRequired(REQUIRED), Length(max=120, message=TOO_LONG)])
    phone = StringField("Nomor HP", validators=[Optional(), Length(max=20, message=TOO_LONG)])
    area_id = SelectField("Wilayah", coerce=int, validators=[DataRequired(REQUIRED)])
    is_operator = BooleanField("Operator (mengelola Kampung KB dan akun di wilayah ini)")
    active = BooleanField("Aktif", default=True)

    def set_area_choices(self, areas):
        self.area_id.choices = [SelectChoice(0, "— pilih wilayah —")] + [
            SelectChoice(w.id, w.display_name, optgroup=labels.LEVELS[w.level]) for w in areas
        ]


class NewAccountForm(AccountForm):
    username = StringField("Nama pengguna", validators=[DataRequired(REQUIRED), valid_username])
    password = PasswordField("Kata sandi sementara", validators=[DataRequired(REQUIRED), strong_enough])


class ResetPasswordForm(Form):
    password = PasswordField("Kata sandi sementara baru", validators=[DataRequired(REQUIRED), strong_enough])
