"""Reading the work plan's free-text cells: schedules ("waktu") and funding ("sumber dana").

Pure functions, no Flask or database: the services call them and store the result beside the
text as written. The rule for both readers is the same: read what is certain, and record a
problem (in Indonesian, for the person who fixes the row) for everything else. A phrase that is
only partly understood is a problem too; nothing is dropped or guessed silently.

Whitespace is normalised before reading (the reference form has non-breaking spaces and line
breaks inside phrases); the ``text`` kept on a reading is the input, only stripped.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

FREQUENCIES = ("once", "period", "weekly", "monthly", "yearly")

SOURCE_TYPES = {
    "apbn": "APBN",
    "apbd_provinsi": "APBD Provinsi",
    "apbd_kabkota": "APBD Kabupaten/Kota",
    "apbd": "APBD (tingkat belum disebut)",
    "dak_bokb": "DAK BOKB",
    "dana_desa": "Dana Desa/APBDes",
    "dana_kelurahan": "Dana Kelurahan",
    "csr": "CSR",
    "swadaya": "Swadaya/mandiri",
    "hibah": "Hibah/Donasi",
    "lainnya": "Lainnya",
}

MONTH_NAMES = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)
WEEKDAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")

# Largest amount accepted: just under 1.000 triliun, far above any Kampung KB budget and well
# inside a 64-bit column.
MAX_RUPIAH = 999_999_999_999_999


# -- shared text helpers ------------------------------------------------------------------------

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_WHITESPACE = re.compile(r"\s+")  # str patterns: includes NBSP, thin and narrow spaces, newlines


def normalize_space(text: str) -> str:
    """One plain space wherever the input has any run of whitespace; trimmed."""
    text = _INVISIBLE.sub("", text or "")
    return _WHITESPACE.sub(" ", text).strip()


def _quote(text: str) -> str:
    return f"'{text}'"


# Numbers 1–12 written as words (longest first, so "dua belas" wins over "dua").
_NUMBER_WORDS = {
    "dua belas": 12, "sebelas": 11, "sepuluh": 10, "sembilan": 9, "delapan": 8, "tujuh": 7,
    "enam": 6, "lima": 5, "empat": 4, "tiga": 3, "dua": 2, "satu": 1,
}
_NUMBER = r"(?:\d+|" + "|".join(w.replace(" ", r"\s+") for w in _NUMBER_WORDS) + ")"


def _number(word: str) -> int:
    word = normalize_space(word).lower()
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


# -- schedule -----------------------------------------------------------------------------------

@dataclass
class ScheduleReading:
    text: str                      # the original phrase, verbatim (stripped)
    start: date | None = None      # period start
    end: date | None = None        # period end (inclusive)
    frequency: str | None = None   # one of FREQUENCIES
    interval: int = 1              # triwulan = monthly x3, semester = monthly x6, "2 kali setahun" = monthly x6
    day_of_month: int | None = None
    weekday: int | None = None     # 0 = Monday … 6 = Sunday ("Senin" … "Minggu")
    week_of_month: int | None = None   # "minggu ke-2" → 2
    duration_days: int | None = None   # "30 hari" → 30
    problems: list[str] = field(default_factory=list)  # Indonesian reasons; non-empty → needs completion

    @property
    def needs_completion(self) -> bool:
        return bool(self.problems) or self.frequency is None or self.start is None or self.end is None


# Month words → month number. Abbreviations as written in the forms; "Pebruari"/"Nopember" are
# older spellings still in use.
_MONTH_WORDS = {
    "januari": 1, "jan": 1,
    "februari": 2, "pebruari": 2, "feb": 2, "peb": 2,
    "maret": 3, "mar": 3,
    "april": 4, "apr": 4,
    "mei": 5,
    "juni": 6, "jun": 6,
    "juli": 7, "jul": 7,
    "agustus": 8, "agust": 8, "agu": 8, "agt": 8, "ags": 8,
    "september": 9, "sept": 9, "sep": 9,
    "oktober": 10, "okt": 10,
    "november": 11, "nopember": 11, "nov": 11, "nop": 11,
    "desember": 12, "des": 12,
}
_MONTH = "(?:" + "|".join(sorted(_MONTH_WORDS, key=len, reverse=True)) + r")\.?(?!\w)"


def _year(name: str) -> str:
    """An optional year after a month: "Juni 2025"."""
    return r"(?:\s+(?P<" + name + r">\d{4})(?!\d))?"


# Range separators: hyphen and dash variants, "s.d."/"s/d"/"sd", "sampai (dengan)", "hingga".
_RANGE_SEP = r"(?:[-\u2010\u2011\u2012\u2013\u2014\u2212]+|s\s*\.?\s*d\b\.?|s\s*/\s*d\b\.?|sampai(?:\s+dengan)?|hingga)"
_EVERY = r"(?:(?P<every>(?:se)?tiap)\s+)?"

_WEEKDAY_WORDS = {"senin": 0, "selasa": 1, "rabu": 2, "kamis": 3, "jumat": 4, "sabtu": 5, "ahad": 6}
_ORDINALS = {"pertama": 1, "kesatu": 1, "kedua": 2, "ketiga": 3, "keempat": 4, "kelima": 5}


def _rx(pattern: str) -> re.Pattern:
    """A phrase pattern that only matches whole words."""
    return re.compile(r"(?<!\w)(?:" + pattern + r")(?!\w)", re.IGNORECASE)


# Each schedule phrase, in the order they are looked for (a longer phrase before the shorter
# ones it contains: "tiap minggu ke-2" before "tiap minggu", "2 kali setahun" before "setahun").
_SCHEDULE_PHRASES = [
    ("whole_year", _rx(r"sepanjang\s+tahun" + _year("ya"))),
    ("continuous", _rx(r"terus\s*-?\s*menerus")),
    ("week_of_month", _rx(_EVERY + r"minggu\s+(?:ke\s*-?\s*(?P<n>\d+)|(?P<ord>" + "|".join(_ORDINALS) + "))")),
    ("day_of_month", _rx(_EVERY + r"(?:tanggal|tgl\.?)\s*(?P<n>\d+)")),
    ("weekday", _rx(_EVERY + r"(?:hari\s+)?(?P<day>senin|selasa|rabu|kamis|jum['\u2019]?at|sabtu|ahad)")),
    # "Minggu" is Sunday only after "hari": "tiap minggu" is the weekly frequency.
    ("sunday", _rx(_EVERY + r"hari\s+minggu")),
    ("times_per_year", _rx(r"(?P<n>" + _NUMBER + r"|se)\s*(?:x|kali)\s*(?:dalam\s+)?(?:setahun|(?:se)?tiap\s+tahun|per\s*tahun)")),
    ("times_per_month", _rx(r"(?:1|satu|se)\s*(?:x|kali)\s*(?:dalam\s+)?(?:sebulan|(?:se)?tiap\s+bulan|per\s*bulan)")),
    ("times_per_week", _rx(r"(?:1|satu|se)\s*(?:x|kali)\s*(?:dalam\s+)?(?:seminggu|(?:se)?tiap\s+minggu|per\s*minggu)")),
    ("n_months", _rx(r"(?P<n>" + _NUMBER + r")\s+(?:bulan|bln)\s+sekali|(?:(?:se)?tiap|per)\s+(?P<m>" + _NUMBER + r")\s+(?:bulan|bln)")),
    ("n_weeks", _rx(r"(?P<n>" + _NUMBER + r")\s+(?:minggu|mgg)\s+sekali|(?:(?:se)?tiap|per)\s+(?P<m>" + _NUMBER + r")\s+(?:minggu|mgg)")),
    ("monthly", _rx(r"sebulan\s+sekali|(?:se)?tiap\s+bulan|per\s*bulan|bulanan")),
    ("weekly", _rx(r"seminggu\s+sekali|(?:se)?tiap\s+minggu|per\s*minggu|mingguan")),
    ("quarterly", _rx(r"(?:(?:se)?tiap\s+|per\s*)?triwulan(?:an)?")),
    ("four_monthly", _rx(r"(?:(?:se)?tiap\s+|per\s*)?caturwulan(?:an)?")),
    ("half_yearly", _rx(r"(?:(?:se)?tiap\s+|per\s*)?semester(?:an)?")),
    ("yearly", _rx(r"setahun\s+sekali|(?:se)?tiap\s+tahun|per\s*tahun|tahunan")),
    ("days", _rx(r"(?:selama\s+)?(?P<n>" + _NUMBER + r")\s+hari")),
    ("month_range", _rx(r"(?:bulan\s+)?(?P<a>" + _MONTH + ")" + _year("ya") + r"\s*" + _RANGE_SEP
                        + r"\s*(?:bulan\s+)?(?P<b>" + _MONTH + ")" + _year("yb"))),
    ("month", _rx(r"(?:bulan\s+)?(?P<a>" + _MONTH + ")" + _year("ya"))),
]

# Words that only join phrases ("Sebulan sekali pada minggu ke-2") and punctuation between them.
_FILLER = re.compile(r"(?<!\w)(?:dan|pada)(?!\w)|[,;.()]", re.IGNORECASE)
_CONSUMED = "\0"


def _month_number(word: str) -> int:
    return _MONTH_WORDS[word.lower().rstrip(".")]


def _last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def read_schedule(text: str, year: int) -> ScheduleReading:
    """Read a schedule phrase of the plan for ``year``; see the module docstring and
    docs for the rules. Never raises on bad text: what it cannot read becomes a problem."""
    original = (text or "").strip()
    reading = ScheduleReading(text=original)
    phrase = normalize_space(original)
    if not phrase:
        reading.problems.append("Jadwal belum diisi.")
        return reading

    # Find every known phrase; what has been read is blanked out so it is read only once and
    # what is left over can be reported.
    found: list[tuple[str, re.Match]] = []
    rest = phrase
    for kind, pattern in _SCHEDULE_PHRASES:
        for match in pattern.finditer(rest):
            found.append((kind, match))
        rest = pattern.sub(lambda m: _CONSUMED * len(m.group(0)), rest)
    leftover = [normalize_space(part) for part in _FILLER.sub(" ", rest).split(_CONSUMED) if part.strip()]
    if leftover:
        shown = ", ".join(_quote(part) for part in leftover)
        reading.problems.append(f"Bagian jadwal tidak dikenali: {shown}." if found
                                else f"Jadwal tidak terbaca: {_quote(phrase)}.")
    found.sort(key=lambda item: item[1].start())
    _Schedule(reading, year).apply(found)
    return reading


class _Schedule:
    """Collects what the phrases say, then checks that they fit together."""

    def __init__(self, reading: ScheduleReading, year: int):
        self.reading = reading
        self.year = year
        self.periods: list[tuple[int, int, str]] = []   # (first month, last month, as written)
        self.frequencies: list[tuple[str, int, str]] = []  # (frequency, interval, as written)
        self.weekdays: list[tuple[int, bool, str]] = []  # (weekday, "setiap" said, as written)
        self.weeks: list[tuple[int, bool, str]] = []
        self.days: list[tuple[int, bool, str]] = []
        self.durations: list[tuple[int, str]] = []
        self.other_year = False

    def problem(self, message: str) -> None:
        if message not in self.reading.problems:
            self.reading.problems.append(message)

    def apply(self, found: list[tuple[str, re.Match]]) -> None:
        for kind, match in found:
            getattr(self, "_" + kind)(match, match.group(0).strip())
        self._settle_period()
        self._settle_frequency()

    # -- phrases ---------------------------------------------------------------------------
    def _check_year(self, *years: str | None) -> None:
        for written in years:
            if written and int(written) != self.year:
                self.other_year = True
                self.problem(f"Tahun {written} pada jadwal berbeda dengan tahun rencana {self.year}.")

    def _whole_year(self, match, written):
        self._check_year(match.group("ya"))
        self.periods.append((1, 12, written))

    def _continuous(self, match, written):
        self.frequencies.append(("period", 1, written))

    def _week_of_month(self, match, written):
        number = int(match.group("n")) if match.group("n") else _ORDINALS[match.group("ord").lower()]
        if not 1 <= number <= 5:
            self.problem(f"{_quote(written)} tidak valid: minggu ke- harus 1 sampai 5.")
            return
        self.weeks.append((number, bool(match.group("every")), written))

    def _day_of_month(self, match, written):
        number = int(match.group("n"))
        if not 1 <= number <= 31:
            self.problem(f"{_quote(written)} tidak valid: tanggal harus 1 sampai 31.")
            return
        self.days.append((number, bool(match.group("every")), written))

    def _weekday(self, match, written):
        day = _WEEKDAY_WORDS[re.sub("['\u2019]", "", match.group("day").lower())]
        self.weekdays.append((day, bool(match.group("every")), written))

    def _sunday(self, match, written):
        self.weekdays.append((6, bool(match.group("every")), written))

    def _times_per_year(self, match, written):
        raw = match.group("n")
        times = 1 if raw.lower() == "se" else _number(raw)
        if times == 1:
            self.frequencies.append(("yearly", 1, written))
        elif times and 12 % times == 0:
            self.frequencies.append(("monthly", 12 // times, written))
        else:
            self.problem(f"{_quote(written)} tidak dapat dibagi rata per bulan; "
                         "tulis mis. '3 bulan sekali' atau isi jadwal secara rinci.")

    def _times_per_month(self, match, written):
        self.frequencies.append(("monthly", 1, written))

    def _times_per_week(self, match, written):
        self.frequencies.append(("weekly", 1, written))

    def _n_months(self, match, written):
        months = _number(match.group("n") or match.group("m"))
        if not 1 <= months <= 12:
            self.problem(f"{_quote(written)} tidak valid: jarak harus 1 sampai 12 bulan.")
            return
        self.frequencies.append(("monthly", months, written))

    def _n_weeks(self, match, written):
        weeks = _number(match.group("n") or match.group("m"))
        if not 1 <= weeks <= 12:
            self.problem(f"{_quote(written)} tidak valid: jarak harus 1 sampai 12 minggu.")
            return
        self.frequencies.append(("weekly", weeks, written))

    def _monthly(self, match, written):
        self.frequencies.append(("monthly", 1, written))

    def _weekly(self, match, written):
        self.frequencies.append(("weekly", 1, written))

    def _quarterly(self, match, written):
        self.frequencies.append(("monthly", 3, written))

    def _four_monthly(self, match, written):
        self.frequencies.append(("monthly", 4, written))

    def _half_yearly(self, match, written):
        self.frequencies.append(("monthly", 6, written))

    def _yearly(self, match, written):
        self.frequencies.append(("yearly", 1, written))

    def _days(self, match, written):
        days = _number(match.group("n"))
        if not 1 <= days <= 366:
            self.problem(f"{_quote(written)} tidak valid: lama kegiatan harus 1 sampai 366 hari.")
            return
        self.durations.append((days, written))

    def _month_range(self, match, written):
        self._check_year(match.group("ya"), match.group("yb"))
        self.periods.append((_month_number(match.group("a")), _month_number(match.group("b")), written))

    def _month(self, match, written):
        self._check_year(match.group("ya"))
        month = _month_number(match.group("a"))
        self.periods.append((month, month, written))

    # -- fitting together ------------------------------------------------------------------
    def _settle_period(self) -> None:
        r = self.reading
        if len(self.periods) > 1:
            shown = ", ".join(_quote(w) for _a, _b, w in self.periods)
            self.problem(f"Lebih dari satu periode disebut ({shown}); tulis satu periode per baris kegiatan.")
            return
        if not self.periods:
            return
        first, last, _written = self.periods[0]
        if last < first:
            # A range across the new year (Nov - Feb) is not guessed: which year would it start in?
            self.problem(f"Bulan akhir ({MONTH_NAMES[last - 1]}) lebih awal dari bulan mulai "
                         f"({MONTH_NAMES[first - 1]}); periode yang melewati pergantian tahun tidak "
                         "dapat dibaca, isi tanggal mulai dan selesai.")
            return
        if self.other_year:
            return
        r.start, r.end = date(self.year, first, 1), _last_day(self.year, last)

    def _settle_frequency(self) -> None:
        r = self.reading
        kinds = {(f, i) for f, i, _w in self.frequencies}
        frequency, interval = next(iter(kinds)) if len(kinds) == 1 else (None, 1)
        ambiguous = len(kinds) > 1
        if ambiguous:
            shown = ", ".join(_quote(w) for _f, _i, w in self.frequencies)
            self.problem(f"Lebih dari satu frekuensi disebut ({shown}).")
        for name, items in (("minggu ke-", self.weeks), ("hari", self.weekdays), ("tanggal", self.days)):
            if len({value for value, _e, _w in items}) > 1:
                shown = ", ".join(_quote(w) for _v, _e, w in items)
                self.problem(f"Lebih dari satu {name} disebut ({shown}).")
                ambiguous = True
        # (value, "setiap"/"tiap" was said, as written)
        week = self.weeks[0] if self.weeks else None
        weekday = self.weekdays[0] if self.weekdays else None
        day = self.days[0] if self.days else None
        if day and (week or weekday):
            self.problem(f"Tanggal ({_quote(day[2])}) dan hari ({_quote((week or weekday)[2])}) "
                         "tidak dapat dipakai bersamaan.")
            ambiguous = True

        if not ambiguous:
            if week:
                frequency = self._fit_week(week, frequency, interval)
            if weekday:
                frequency = self._fit_weekday(weekday, week, frequency)
            if day:
                frequency = self._fit_day(day, frequency)
        if self.durations:
            frequency = self._fit_duration(frequency)

        if frequency is None and not ambiguous and self.periods and not (week or weekday or day):
            frequency = "period"  # a period alone: the activity runs through it
        if frequency not in (None, "once") and not self.periods and r.start is None:
            # A frequency without a period runs through the plan's year.
            r.start, r.end = date(self.year, 1, 1), date(self.year, 12, 31)
        r.frequency = frequency
        r.interval = interval if frequency in ("weekly", "monthly") else 1

    def _fit_week(self, week, frequency, interval):
        number, every, written = week
        self.reading.week_of_month = number
        # Simple on purpose: week wording with "minggu ke-N" ("tiap minggu ke-2", "seminggu
        # sekali, minggu ke-2") means once a month, in the month's N-th week.
        if frequency == "weekly" and interval == 1:
            return "monthly"
        if frequency is None and (every or any(e for _v, e, _w in self.weekdays)):
            return "monthly"  # also "tiap Senin minggu ke-2"
        if frequency is None:
            self.problem(f"Frekuensi untuk {_quote(written)} belum jelas; tulis mis. "
                         f"'setiap minggu ke-{number}' atau 'sebulan sekali, minggu ke-{number}'.")
        elif frequency != "monthly":
            self.problem(f"{_quote(written)} tidak dapat digabung dengan frekuensi ini.")
        return frequency

    def _fit_weekday(self, weekday, week, frequency):
        value, every, written = weekday
        self.reading.weekday = value
        if frequency is None and every:
            return "monthly" if week else "weekly"
        if frequency is None:
            self.problem(f"Frekuensi untuk {_quote(written)} belum jelas; tulis mis. "
                         f"'setiap {WEEKDAY_NAMES[value]}'.")
        elif frequency == "monthly" and not week:
            self.problem(f"{_quote(written)} pada minggu ke berapa setiap bulan belum disebut "
                         "(mis. 'minggu ke-2').")
        elif frequency not in ("weekly", "monthly"):
            self.problem(f"{_quote(written)} tidak dapat digabung dengan frekuensi ini.")
        return frequency

    def _fit_day(self, day, frequency):
        r = self.reading
        value, every, written = day
        r.day_of_month = value
        single_month = len(self.periods) == 1 and self.periods[0][0] == self.periods[0][1]
        if frequency is None and every:
            return "monthly"
        if frequency is None and single_month and r.start is not None:
            # "tanggal 17 Agustus": that one day.
            month = self.periods[0][0]
            if value > calendar.monthrange(self.year, month)[1]:
                self.problem(f"Tanggal {value} {MONTH_NAMES[month - 1]} {self.year} tidak ada.")
                return None
            r.start = r.end = date(self.year, month, value)
            return "once"
        if frequency is None:
            self.problem(f"Frekuensi untuk {_quote(written)} belum jelas; tulis mis. "
                         f"'setiap tanggal {value}'.")
        elif frequency != "monthly":
            self.problem(f"{_quote(written)} tidak dapat digabung dengan frekuensi ini.")
        return frequency

    def _fit_duration(self, frequency):
        r = self.reading
        days, written = self.durations[0]
        r.duration_days = days
        if len({d for d, _w in self.durations}) > 1:
            shown = ", ".join(_quote(w) for _d, w in self.durations)
            self.problem(f"Lebih dari satu lama kegiatan disebut ({shown}).")
        if frequency is None:
            # Read, but it cannot be placed on a calendar without a start date (also when a
            # period is named: that only says roughly when).
            r.start = r.end = None
            self.problem(f"Tanggal mulai kegiatan {days} hari belum ditentukan.")
            return "once"
        self.problem(f"Lama kegiatan {_quote(written)} tidak dapat digabung dengan frekuensi ini; "
                     "isi jadwal secara rinci.")
        return frequency


# -- rupiah -------------------------------------------------------------------------------------

_UNITS = {"ribu": 10**3, "rb": 10**3, "juta": 10**6, "jt": 10**6,
          "miliar": 10**9, "milyar": 10**9, "triliun": 10**12}
_UNIT = "(?:" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")\.?(?!\w)"
_RUPIAH = re.compile(
    r"(?P<int>\d{1,3}(?:\.\d{3})+|\d+)(?:,(?P<frac>\d+))?(?:\s*(?P<unit>" + _UNIT + r"))?(?:,-|\.-)?",
    re.IGNORECASE)
_CURRENCY = re.compile(r"^(?:rp|idr)\.?\s*", re.IGNORECASE)
_EXAMPLE = "Contoh penulisan: Rp 1.500.000 atau 1,5 juta."


def parse_rupiah(text: str) -> int:
    """Whole rupiah from Indonesian writing: "Rp 1.298.900.000", "1298900000", "Rp1.500.000,00",
    "Rp 150.000,-", "1,5 juta". A dot is always the thousands separator and a comma the decimal
    sign. Raises ValueError (Indonesian message) for empty, negative, non-numeric or
    fractional amounts."""
    if isinstance(text, bool):
        raise ValueError("Jumlah rupiah tidak valid.")
    if isinstance(text, int):
        value = text
        written = str(text)
    else:
        written = normalize_space(str(text) if text is not None else "")
        if not written:
            raise ValueError("Jumlah rupiah belum diisi.")
        body = _CURRENCY.sub("", written)
        if re.match(r"^[-\u2212\u2013]|^\(.*\)$|^minus\b", body, re.IGNORECASE):
            raise ValueError(f"Jumlah rupiah tidak boleh negatif: {_quote(written)}.")
        match = _RUPIAH.fullmatch(body)
        if not match:
            raise ValueError(f"Jumlah rupiah tidak valid: {_quote(written)}. {_EXAMPLE}")
        number = Decimal(match.group("int").replace(".", ""))
        fraction = match.group("frac")
        unit = match.group("unit")
        if fraction:
            if not unit and fraction.strip("0"):
                raise ValueError(f"Jumlah rupiah harus bilangan bulat (desimal hanya ,00): {_quote(written)}.")
            number += Decimal("0." + fraction)
        if unit:
            number *= _UNITS[unit.lower().rstrip(".")]
        value = int(number)
        if number != value:
            raise ValueError(f"Jumlah rupiah harus bilangan bulat (tanpa sen): {_quote(written)}.")
    if value < 0:
        raise ValueError(f"Jumlah rupiah tidak boleh negatif: {_quote(written)}.")
    if value > MAX_RUPIAH:
        raise ValueError(f"Jumlah rupiah terlalu besar: {_quote(written)}.")
    return value


def format_rupiah(amount: int) -> str:
    """1298900000 → "Rp 1.298.900.000"; 0 → "Rp 0"; a negative difference → "-Rp 1.000"."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"format_rupiah expects an int, got {type(amount).__name__}")
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {abs(amount):,}".replace(",", ".")


# -- funding ------------------------------------------------------------------------------------

@dataclass
class SourceReading:
    type: str                   # a SOURCE_TYPES key
    detail: str | None = None   # the paying agency, e.g. "Dinkes"
    amount: int | None = None   # whole rupiah


@dataclass
class FundingReading:
    text: str
    sources: list[SourceReading]
    problems: list[str]


# Source words at the start of an item, most specific first ("APBD Provinsi" before "APBD").
_SOURCE_WORDS = [
    ("apbd_provinsi", r"apbd\s*(?:provinsi|propinsi|prov|prop)\.?"),
    ("apbd_kabkota", r"apbd\s*(?:kabupaten\s*/\s*kota|kab\.?\s*/\s*kota|kabupaten|kab\.?|kota)"),
    ("dana_desa", r"dana\s+desa|apbdes|apb\s*desa|dd"),
    ("apbd", r"apbd"),
    ("apbn", r"apbn"),
    ("dak_bokb", r"(?:dak\s+)?bokb"),
    ("dana_kelurahan", r"dana\s+kelurahan"),
    ("csr", r"csr"),
    ("swadaya", r"swadaya(?:\s+masyarakat)?|(?:dana\s+)?mandiri"),
    ("hibah", r"hibah|donasi"),
    ("lainnya", r"lainnya|lain\s*-\s*lain"),
]
_SOURCE_START = [(kind, re.compile(r"^(?:" + p + r")(?![\w])\.?", re.IGNORECASE)) for kind, p in _SOURCE_WORDS]
# Names of paying agencies, to explain why an item alone is not a source.
_AGENCY = re.compile(
    r"^(?:din\w*|dinas|badan|sudin|suku\s+dinas|kemen\w*|bkkbn|bappeda\w*|puskesmas|opd|dukcapil|"
    r"kantor|kecamatan|kelurahan|pemkot|pemkab|pemprov|pemda|perwakilan)(?!\w)", re.IGNORECASE)
_AMOUNT = re.compile(
    r"(?<![\w.,])(?:(?:rp|idr)\.?\s*[-\u2212]?\s*\d(?:[\d.,]*\d)?(?:\s*" + _UNIT + r")?(?:,-|\.-)?"
    r"|\d{1,3}(?:\.\d{3})+(?:,\d+)?(?:\s*" + _UNIT + r")?(?:,-|\.-)?"
    r"|\d+(?:,\d+)?\s*" + _UNIT + r")",
    re.IGNORECASE)
# The form's own heading "Dana Desa/Kelurahan/Mandiri" names Dana Kelurahan by "Kelurahan" alone.
_DESA_KELURAHAN = re.compile(r"(?<!\w)(dana\s+desa\s*/\s*)(kelurahan)(?!\w)", re.IGNORECASE)
_JOINERS = re.compile(r"\s+(?:dan|serta)\s+|\s*[&+/]\s*", re.IGNORECASE)


def _depths(text: str) -> list[int]:
    """Parenthesis depth at each character (an opening bracket counts as inside)."""
    depth, depths = 0, []
    for char in text:
        if char == "(":
            depth += 1
        depths.append(depth)
        if char == ")":
            depth = max(depth - 1, 0)
    return depths


def _split_items(text: str) -> list[str]:
    """Top-level items: split at commas/semicolons outside brackets (not inside "1,5 juta"),
    then at "dan", "serta", "&", "+", "/" when what follows starts with a source word
    ("APBD dan mandiri" → two; "Dinkop dan UKM" stays one)."""
    depths = _depths(text)
    pieces, start = [], 0
    for i, char in enumerate(text):
        if char in ",;" and depths[i] == 0:
            between_digits = 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()
            if not between_digits:
                pieces.append(text[start:i])
                start = i + 1
    pieces.append(text[start:])
    items = []
    for piece in pieces:
        offset = 0
        piece_depths = _depths(piece)
        for match in _JOINERS.finditer(piece):
            if piece_depths[match.start()] == 0 and _source_word(piece[match.end():]):
                items.append(piece[offset:match.start()])
                offset = match.end()
        items.append(piece[offset:])
    return [item.strip() for item in items]


def _source_word(text: str) -> tuple[str, int] | None:
    for kind, pattern in _SOURCE_START:
        match = pattern.match(text)
        if match:
            return kind, match.end()
    return None


def _take_amounts(text: str, problems: list[str]) -> tuple[str, list[int | None]]:
    """Remove amounts from ``text``; returns the rest and the amounts (None where unreadable)."""
    amounts: list[int | None] = []
    for match in _AMOUNT.finditer(text):
        try:
            amounts.append(parse_rupiah(match.group(0)))
        except ValueError as error:
            problems.append(str(error))
            amounts.append(None)
    return _AMOUNT.sub(" ", text), amounts


def _clean_detail(text: str) -> str | None:
    text = normalize_space(text).strip(" :-\u2013\u2014,;./")
    text = re.sub(r"^dari\s+", "", text, flags=re.IGNORECASE)
    return text or None


def _take_brackets(text: str) -> tuple[str, list[str], bool]:
    """Split off bracketed groups: (text outside, inner texts, brackets balanced)."""
    outside, groups, depth, current = [], [], 0, []
    for char in text:
        if char == "(":
            if depth:
                current.append(char)
            depth += 1
        elif char == ")" and depth:
            depth -= 1
            if depth:
                current.append(char)
            else:
                groups.append("".join(current))
                current = []
        elif depth:
            current.append(char)
        elif char == ")":
            return text, groups, False
        else:
            outside.append(char)
    if depth:
        groups.append("".join(current))
    return "".join(outside), groups, depth == 0


def read_funding(text: str) -> FundingReading:
    """Read a "sumber dana" cell into typed sources, one per paying agency."""
    original = (text or "").strip()
    reading = FundingReading(text=original, sources=[], problems=[])
    cell = _DESA_KELURAHAN.sub(r"\1Dana \2", normalize_space(original))
    problems = reading.problems
    for item in _split_items(cell):
        item = item.strip().rstrip(".").strip()
        if not any(char.isalnum() for char in item):
            continue  # "-" or stray punctuation between items
        _read_item(item, reading.sources, problems)
    if not reading.sources and not problems:
        problems.append("Sumber dana belum diisi.")
    # "Swadaya/mandiri", "Hibah/Donasi": the same source named twice is one source.
    unique: list[SourceReading] = []
    for source in reading.sources:
        if source.amount is None and any(
                (s.type, s.detail, s.amount) == (source.type, source.detail, None) for s in unique):
            continue
        unique.append(source)
    reading.sources = unique
    reading.problems = list(dict.fromkeys(problems))
    return reading


def _read_item(item: str, sources: list[SourceReading], problems: list[str]) -> None:
    word = _source_word(item)
    if word is None:
        rest, amounts = _take_amounts(item, problems)
        detail = _clean_detail(rest)
        amount = amounts[0] if len(amounts) == 1 else None
        if len(amounts) > 1:
            problems.append(f"Lebih dari satu jumlah pada {_quote(item)}.")
        if detail is None:
            problems.append(f"Sumber dana untuk jumlah pada {_quote(item)} tidak disebut.")
        elif _AGENCY.match(detail):
            problems.append(f"Sumber dana tidak jelas: {_quote(detail)} (hanya nama instansi)")
        else:
            problems.append(f"Sumber dana tidak dikenali: {_quote(detail)}")
        sources.append(SourceReading(type="lainnya", detail=detail, amount=amount))
        return

    kind, end = word
    rest = item[end:]
    if rest.lstrip().startswith("/"):
        problems.append(f"Sumber dana tidak jelas: {_quote(item)}")
    outside, groups, balanced = _take_brackets(rest)
    if not balanced:
        problems.append(f"Tanda kurung tidak lengkap pada sumber dana {_quote(item)}.")
    outside, outer_amounts = _take_amounts(outside, problems)
    free_detail = _clean_detail(outside)

    # Each bracketed group lists agencies, separated by commas or semicolons ("Dinkes, Badan
    # Pangan"); "dan" inside a name stays ("Dinkop dan UKM"). A group that is only an amount
    # ("BOKB (Rp 1.500.000)") is the source's amount.
    parts: list[tuple[str | None, int | None]] = []
    for group in groups:
        for piece in re.split(r"[;,](?!\d)", group):
            piece_rest, piece_amounts = _take_amounts(piece, problems)
            detail = _clean_detail(piece_rest)
            if len(piece_amounts) > 1:
                problems.append(f"Lebih dari satu jumlah pada {_quote(piece.strip())}.")
            amount = piece_amounts[0] if len(piece_amounts) == 1 else None
            if detail is None:
                if amount is not None:
                    outer_amounts.append(amount)
                continue
            parts.append((detail, amount))

    if free_detail and parts:
        problems.append(f"Sumber dana tidak jelas: {_quote(item)}")
        free_detail = None
    if free_detail:
        parts = [(free_detail, None)]
    for detail, _amount in parts:
        if detail and (detail.isdigit() or _source_word(detail)):
            problems.append(f"Sumber dana tidak jelas: {_quote(item)}"
                            + (" (angka tanpa 'Rp' tidak dibaca sebagai jumlah)" if detail.isdigit() else ""))
    if len(outer_amounts) > 1:
        problems.append(f"Lebih dari satu jumlah pada {_quote(item)}.")
        outer_amounts = []
    outer = outer_amounts[0] if outer_amounts else None

    if not parts:
        sources.append(SourceReading(type=kind, amount=outer))
        return
    if outer is not None:
        if len(parts) == 1 and parts[0][1] is None:
            parts = [(parts[0][0], outer)]
        else:
            names = ", ".join(d for d, _a in parts)
            problems.append(f"Jumlah {format_rupiah(outer)} untuk beberapa instansi ({names}) tidak dapat "
                            "dibagi; tulis jumlah per instansi.")
    for detail, amount in parts:
        sources.append(SourceReading(type=kind, detail=detail, amount=amount))
