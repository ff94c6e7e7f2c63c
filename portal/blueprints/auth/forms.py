from flask import current_app
from portal.forms import Form
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from portal.labels import REQUIRED, TOO_LONG


class LoginForm(Form):
    username = StringField("Nama pengguna", validators=[DataRequired(REQUIRED), Length(max=40, message=TOO_LONG)])
    password = PasswordField("Kata sandi", validators=[DataRequired(REQUIRED)])


class ProfileForm(Form):
    full_name = StringField("Nama lengkap", validators=[DataRequired(REQUIRED), Length(max=120, message=TOO_LONG)])
    phone = StringField("Nomor HP", validators=[Optional(), Length(max=20, message=TOO_LONG)])


def strong_enough(form, field):
    minimum = current_app.config["MIN_PASSWORD_LENGTH"]
    if len(field.data or "") < minimum:
        raise ValidationError(f"Kata sandi minimal {minimum} karakter.")
    if len(field.data) > 128:
        raise ValidationError("Kata sandi paling banyak 128 karakter.")


class PasswordChangeForm(Form):
    current = PasswordField("Kata sandi saat ini", validators=[DataRequired(REQUIRED)])
    new = PasswordField("Kata sandi baru", validators=[DataRequired(REQUIRED), strong_enough])
    confirm = PasswordField(
        "Ulangi kata sandi baru",
        validators=[DataRequired(REQUIRED), EqualTo("new", message="Tidak sama dengan kata sandi baru.")],
    )
