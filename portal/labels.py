"""Indonesian labels for the domain's fixed vocabularies, in one place.

Code uses the English keys; templates and forms show these labels.
"""

LEVELS = {
    "provinsi": "Provinsi",
    "kabupaten": "Kabupaten/Kota",
    "kecamatan": "Kecamatan",
    "desa": "Desa/Kelurahan",
}

TIMEZONES = {
    "Asia/Jakarta": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}

SEKSI = {
    "data": "Seksi Penyediaan Data Keluarga dan Dokumen Kependudukan",
    "perilaku": "Seksi Perubahan Perilaku Keluarga",
    "layanan": "Seksi Peningkatan Cakupan Layanan dan Rujukan pada Keluarga",
    "lingkungan": "Seksi Penataan Lingkungan Keluarga dan Masyarakat",
}

SEKSI_SHORT = {
    "data": "Penyediaan Data",
    "perilaku": "Perubahan Perilaku",
    "layanan": "Layanan dan Rujukan",
    "lingkungan": "Penataan Lingkungan",
}

POSITIONS = {
    "pengarah": "Pengarah (Lurah/Kepala Desa)",
    "ketua": "Ketua",
    "wakil_ketua": "Wakil Ketua",
    "sekretaris": "Sekretaris",
    "bendahara": "Bendahara",
    "ketua_seksi": "Ketua Seksi",
    "anggota_seksi": "Anggota Seksi",
    "anggota": "Anggota",
}

# Form validation messages (WTForms' defaults are English).
REQUIRED = "Wajib diisi."
TOO_LONG = "Terlalu panjang (paling banyak %(max)d karakter)."

# WTForms ships no Indonesian catalogue; these replace its English built-in messages.
WTFORMS_MESSAGES = {
    "This field is required.": "Wajib diisi.",
    "Invalid input.": "Isian tidak valid.",
    "Not a valid choice.": "Pilihan tidak valid.",
    "Invalid Choice: could not coerce.": "Pilihan tidak valid.",
    "Not a valid date value.": "Tanggal tidak valid.",
    "Not a valid time value.": "Jam tidak valid.",
    "Not a valid datetime value.": "Tanggal dan jam tidak valid.",
    "Not a valid integer value.": "Harus berupa bilangan bulat.",
    "Not a valid decimal value.": "Harus berupa angka.",
    "Not a valid float value.": "Harus berupa angka.",
    "Field must be equal to %(other_name)s.": "Harus sama dengan %(other_name)s.",
    "Field cannot be longer than %(max)d character.": "Paling banyak %(max)d karakter.",
    "Field cannot be longer than %(max)d characters.": "Paling banyak %(max)d karakter.",
    "Field must be at least %(min)d character long.": "Paling sedikit %(min)d karakter.",
    "Field must be at least %(min)d characters long.": "Paling sedikit %(min)d karakter.",
    "Number must be at least %(min)s.": "Paling kecil %(min)s.",
    "Number must be at most %(max)s.": "Paling besar %(max)s.",
    "Number must be between %(min)s and %(max)s.": "Harus antara %(min)s dan %(max)s.",
    "The CSRF token is missing.": "Token keamanan formulir tidak ada. Muat ulang halaman.",
    "The CSRF token has expired.": "Formulir sudah kedaluwarsa. Muat ulang halaman.",
    "The CSRF token is invalid.": "Token keamanan formulir tidak valid. Muat ulang halaman.",
}

FREQUENCIES = {
    "once": "Sekali",
    "period": "Sepanjang periode",
    "weekly": "Mingguan",
    "monthly": "Bulanan",
    "yearly": "Tahunan",
}

WEEKDAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
