"""Normalisation: turn identifiers as a partner recorded them into one canonical form, before anything is encoded.

Two records of the same person should normalise to the same value even when one service typed ``Mrs Zoë O'Brien``
and another ``ZOE OBRIEN``; a value that cannot be a real identifier (the 31st of April, an NHS number whose check
digit fails) is refused with a :class:`~linkage.errors.NormalisationError` whose message gives the rule and the fix
but never the value, so that it can be written to a rejects file.

Rules, in brief (``docs/encoding.md`` has the full table):

* names: Unicode compatibility-decomposed, accents dropped, case folded, letters outside ASCII transliterated
  (``ß`` to ``ss``, ``Ø`` to ``o``); apostrophes and full stops removed; hyphens, commas and other punctuation split
  parts; leading titles (``Mr``, ``Dr``, ...) and trailing suffixes (``Jr``, ``III``) dropped;
* dates: ISO ``2012-03-23`` or UK day-first ``23/03/2012`` (also ``23-03-2012`` and ``23.03.2012``);
* gender: ``m``, ``f`` or ``x``; "unknown" and its synonyms are no value at all;
* UK postcodes: any case and spacing, checked against the published format, split into outward and inward codes;
* addresses: case, accents and punctuation as for names, common abbreviations spelled out, an embedded postcode
  removed (the postcode travels in its own field);
* NHS numbers: ten digits (spaces and hyphens allowed) whose modulus-11 check digit holds.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from linkage.errors import NormalisationError

MIN_BIRTH_YEAR = 1900

# Letters that Unicode decomposition does not reduce to ASCII (escaped: some look like ASCII letters).
_TRANSLITERATE = str.maketrans(
    {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "ł": "l", "\u0131": "i", "ŋ": "n"}
)
# Apostrophes (straight, curly, backtick, acute) and full stops vanish: O'Brien is OBrien, St. John is St John.
_DROP = re.compile("['\u2019\u2018`\u00b4.]")
_SPLIT = re.compile(r"[^a-z0-9]+")
_TITLES = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "master", "dr", "doctor", "prof", "professor", "rev", "revd", "reverend"}
    | {"sir", "dame"}
)
_SUFFIXES = frozenset(["jr", "jnr", "junior", "sr", "snr", "senior", "ii", "iii", "iv"])


def fold(text: str) -> str:
    """Fold text to lower-case ASCII: compatibility-decompose, drop accents, transliterate the rest.

    Args:
        text: any Unicode text.

    Returns:
        The folded text; characters with no ASCII form (e.g. CJK) are dropped.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_TRANSLITERATE))
    return decomposed.encode("ascii", "ignore").decode("ascii")


@dataclass(frozen=True)
class Name:
    """A normalised name.

    Attributes:
        parts: the name's parts in order, e.g. ``("smith", "jones")`` for ``Smith-Jones``.
    """

    parts: tuple[str, ...]

    @property
    def joined(self) -> str:
        """The parts run together (``smithjones``), so that ``Smith Jones`` and ``Smith-Jones`` agree exactly."""
        return "".join(self.parts)


def normalise_name(raw: str) -> Name | None:
    """Normalise a first or last name.

    Args:
        raw: the name as recorded.

    Returns:
        The normalised name, or ``None`` when the field is empty (or holds only a title).

    Raises:
        NormalisationError: the name contains digits or no letters at all.
    """
    words = fold(raw).replace(",", " ").split()
    # Titles and suffixes are whole words: "Major-Ball" keeps both parts, "Major Ball" is a title and a name.
    while len(words) > 1 and words[0].rstrip(".") in _TITLES:
        words.pop(0)
    while len(words) > 1 and words[-1].rstrip(".") in _SUFFIXES:
        words.pop()
    parts = [p for p in _SPLIT.split(_DROP.sub("", " ".join(words))) if p]
    if not parts:
        if raw.strip():
            raise NormalisationError("a name must contain letters: leave the field empty when it is not known")
        return None
    if any(ch.isdigit() for p in parts for ch in p):
        raise NormalisationError("a name may not contain digits: correct the name or leave the field empty")
    return Name(tuple(parts))


_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_UK = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})")
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def parse_date(raw: str) -> date | None:
    """Parse a date written ISO ``2012-03-23`` or UK day-first ``23/03/2012`` (also ``-`` or ``.`` between).

    Args:
        raw: the date as recorded; surrounding spaces are ignored.

    Returns:
        The date, or ``None`` when the field is empty.

    Raises:
        NormalisationError: the text is in neither form, or names a day that does not exist.
    """
    text = raw.strip()
    if not text:
        return None
    if match := _ISO.fullmatch(text):
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    elif match := _UK.fullmatch(text):
        day, month, year = int(match[1]), int(match[3]), int(match[4])
    else:
        raise NormalisationError("is not a date written YYYY-MM-DD or DD/MM/YYYY")
    if not 1 <= month <= 12:
        raise NormalisationError("has a month outside 1-12: check the order is YYYY-MM-DD or DD/MM/YYYY")
    if not 1 <= day <= _DAYS[month - 1]:
        raise NormalisationError("has a day that does not exist in that month")
    try:
        return date(year, month, day)
    except ValueError:
        raise NormalisationError("is the 29th of February in a year that is not a leap year") from None


def normalise_birth_date(raw: str, *, today: date) -> date | None:
    """Parse a date of birth and check it is plausible.

    Args:
        raw: the date as recorded.
        today: the current date, against which a birth in the future is refused.

    Returns:
        The date of birth, or ``None`` when the field is empty.

    Raises:
        NormalisationError: not a real date, in the future, or before 1900.
    """
    born = parse_date(raw)
    if born is None:
        return None
    if born > today:
        raise NormalisationError("is in the future: a date of birth must be today or earlier")
    if born.year < MIN_BIRTH_YEAR:
        raise NormalisationError(f"is before {MIN_BIRTH_YEAR}: check the year")
    return born


def swapped_day_month(born: date) -> date | None:
    """The date with day and month exchanged, when that is a different, valid date (a common keying error)."""
    if born.day == born.month or born.day > 12:
        return None
    try:
        return date(born.year, born.day, born.month)
    except ValueError:  # pragma: no cover - day <= 12 always makes a valid month; kept for safety
        return None


_GENDERS = {
    "m": "m",
    "male": "m",
    "man": "m",
    "boy": "m",
    "f": "f",
    "female": "f",
    "woman": "f",
    "girl": "f",
    "x": "x",
    "other": "x",
    "non binary": "x",
    "nonbinary": "x",
    "indeterminate": "x",
    "i": "x",
}
_NO_GENDER = frozenset({"u", "unknown", "not known", "notknown", "not stated", "not specified", "prefer not to say"})


def normalise_gender(raw: str) -> str | None:
    """Map a gender as recorded to ``m``, ``f`` or ``x``; ``None`` for empty or "unknown" (which is no evidence).

    Raises:
        NormalisationError: the text is none of the recognised forms.
    """
    text = " ".join(_SPLIT.split(fold(raw))).strip()
    if not text or text in _NO_GENDER:
        return None
    code = _GENDERS.get(text)
    if code is None:
        raise NormalisationError("is not a recognised gender: use M, F, X (other) or U (unknown), or words for them")
    return code


_POSTCODE = re.compile(
    r"(GIR0AA|[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPS-UW]|[A-HK-Y][0-9][ABEHMNPRV-Y])"
    r"[0-9][ABD-HJLNP-UW-Z]{2})"
)


@dataclass(frozen=True)
class Postcode:
    """A UK postcode split into its parts.

    Attributes:
        outward: the part before the space, e.g. ``B15``; this is also the postcode district.
        inward: the part after the space, e.g. ``2TT``.
    """

    outward: str
    inward: str

    @property
    def unit(self) -> str:
        """The whole postcode in its standard form, e.g. ``B15 2TT``."""
        return f"{self.outward} {self.inward}"

    @property
    def district(self) -> str:
        """The postcode district: the outward code."""
        return self.outward

    @property
    def sector(self) -> str:
        """The postcode sector: the outward code and the first character of the inward code, e.g. ``B15 2``."""
        return f"{self.outward} {self.inward[0]}"


def normalise_postcode(raw: str) -> Postcode | None:
    """Check a UK postcode's format (any case, any spacing) and split it.

    Returns:
        The postcode, or ``None`` when the field is empty.

    Raises:
        NormalisationError: the text is not in the format of a UK postcode.
    """
    compact = "".join(raw.split()).upper()
    if not compact:
        return None
    if not _POSTCODE.fullmatch(compact):
        raise NormalisationError("is not a UK postcode (e.g. B15 2TT): check the letters and digits")
    return Postcode(outward=compact[:-3], inward=compact[-3:])


_ABBREVIATIONS = {
    "rd": "road",
    "st": "street",
    "str": "street",
    "ave": "avenue",
    "av": "avenue",
    "ln": "lane",
    "dr": "drive",
    "cl": "close",
    "ct": "court",
    "crt": "court",
    "cres": "crescent",
    "cr": "crescent",
    "gdns": "gardens",
    "gr": "grove",
    "gro": "grove",
    "pl": "place",
    "sq": "square",
    "ter": "terrace",
    "terr": "terrace",
    "pk": "park",
    "hse": "house",
    "apt": "flat",
    "apartment": "flat",
}
_EMBEDDED_POSTCODE = re.compile(r"\b[a-z]{1,2}[0-9][a-z0-9]? ?[0-9][a-z]{2}\s*$")


def normalise_address(raw: str) -> str | None:
    """Normalise an address line for fuzzy comparison: folded, punctuation to spaces, abbreviations spelled out.

    A postcode at the end of the address is removed, since it is encoded in its own field.

    Returns:
        The normalised address (words separated by one space), or ``None`` when nothing is left.
    """
    folded = _DROP.sub("", fold(raw))
    folded = _EMBEDDED_POSTCODE.sub("", folded.replace(",", " ").strip())
    words = [_ABBREVIATIONS.get(w, w) for w in _SPLIT.split(folded) if w]
    return " ".join(words) or None


_NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def nhs_check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit for the first nine digits of an NHS number; ``None`` if no digit can be valid."""
    total = sum(int(d) * w for d, w in zip(first_nine, _NHS_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def normalise_nhs_number(raw: str) -> str | None:
    """Check an NHS number: ten digits (spaces and hyphens allowed) with a valid modulus-11 check digit.

    Returns:
        The ten digits, or ``None`` when the field is empty.

    Raises:
        NormalisationError: not ten digits, or the check digit does not hold.
    """
    digits = raw.replace(" ", "").replace("-", "")
    if not digits:
        return None
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        raise NormalisationError("must be 10 digits (spaces or hyphens between them are allowed)")
    if nhs_check_digit(digits[:9]) != int(digits[9]):
        raise NormalisationError("fails the modulus-11 check: a digit is wrong or two are swapped")
    return digits
