"""Privacy gate: find personal data in an inbound WhatsApp text.

The municipality's rule is that WhatsApp is for simple questions, never for
personal data. The connector calls :func:`scan` on every inbound text *before*
it is stored, logged or sent to Rasa, and works only with ``Scan.redacted``
and ``Scan.kinds`` from then on.

Design choices:

* One detector per kind, each returning ``(start, end)`` ranges. Checksums and
  phone-number metadata come from python-stdnum and phonenumbers, not from
  hand-rolled code.
* Numbers that are ambiguous on their own (8-digit BSN, licence plates without
  dashes, passport numbers, dates of birth) need a context word nearby;
  numbers with a strong checksum (9-digit BSN, IBAN, card) do not.
* Overlapping ranges are merged into one span with the most specific kind, so
  redaction never leaves part of a number behind.
* The module does no I/O and never puts the text (or a slice of it) into an
  exception or a log record: a failing detector raises
  :class:`PrivacyScanError` that names only the kind and the exception type.
"""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher, PhoneNumberType
from stdnum import iban as _iban
from stdnum import luhn as _luhn
from stdnum.nl import bsn as _bsn
from stdnum.nl import identiteitskaartnummer as _passport
from stdnum.nl import postcode as _postcode

from bot.errors import BalieError

__all__ = ["KINDS", "KIND_LABELS_NL", "PLACEHOLDERS", "PrivacyScanError", "Scan", "Span", "scan"]

KINDS = (
    "bsn",
    "iban",
    "phone",
    "email",
    "address",
    "birthdate",
    "licence_plate",
    "document_number",
    "payment_card",
)

PLACEHOLDERS = {
    "bsn": "[BSN]",
    "iban": "[IBAN]",
    "phone": "[TELEFOON]",
    "email": "[E-MAIL]",
    "address": "[ADRES]",
    "birthdate": "[GEBOORTEDATUM]",
    "licence_plate": "[KENTEKEN]",
    "document_number": "[DOCUMENTNUMMER]",
    "payment_card": "[BETAALKAART]",
}

KIND_LABELS_NL = {
    "bsn": "burgerservicenummer",
    "iban": "rekeningnummer",
    "phone": "telefoonnummer",
    "email": "e-mailadres",
    "address": "adres",
    "birthdate": "geboortedatum",
    "licence_plate": "kenteken",
    "document_number": "documentnummer",
    "payment_card": "betaalkaartnummer",
}

# When two ranges overlap, the kind listed first wins: a checksum-validated or
# context-confirmed kind says more than a generic phone/address pattern.
_SPECIFICITY = (
    "email",
    "iban",
    "payment_card",
    "bsn",
    "document_number",
    "licence_plate",
    "birthdate",
    "phone",
    "address",
)
_RANK = {kind: rank for rank, kind in enumerate(_SPECIFICITY)}


class PrivacyScanError(BalieError):
    """A detector failed. The message never contains the scanned text."""


@dataclass(frozen=True)
class Span:
    kind: str  # one of KINDS
    start: int
    end: int


@dataclass(frozen=True)
class Scan:
    redacted: str  # text with each span replaced by its placeholder
    spans: tuple[Span, ...]

    @property
    def found(self) -> bool:
        return bool(self.spans)

    @property
    def kinds(self) -> tuple[str, ...]:
        """Distinct kinds, in order of first appearance."""
        return tuple(dict.fromkeys(span.kind for span in self.spans))


Range = tuple[int, int]

_DIGIT_RE = re.compile(r"\d")
_DIGITS_ONLY_RE = re.compile(r"\D")

# ---------------------------------------------------------------- helpers

# A sentence boundary or line break between a context word and a value means
# the word is about something else ("geboren." ... "kan ik op 3-4 komen").
_BREAK_RE = re.compile(r"[!?;\n]|\.\s+[A-Z]")


def _context_near(text: str, start: int, end: int, pattern: re.Pattern[str],
                  before: int, after: int) -> bool:
    """True if ``pattern`` occurs within the window around text[start:end]
    without a sentence break in between."""
    left = text[max(0, start - before):start]
    for match in pattern.finditer(left):
        if not _BREAK_RE.search(left, match.end()):
            return True
    right = text[end:end + after]
    for match in pattern.finditer(right):
        if not _BREAK_RE.search(right, 0, match.start()):
            return True
    return False


# Words that, right after a number, show it is a count, a duration, an amount
# or a date ("Kerkstraat 3 weken dicht", "op de markt 3 maart").
_UNIT_WORDS = frozenset("""
    jaar jaren jr maand maanden week weken dag dagen uur uren u min minuten
    sec seconden keer maal x stuks euro eur procent % cm m m2 meter meters km
    kilo kg liter personen mensen kinderen volwassenen bewoners deelnemers
    bomen containers kliko's zakken tassen dozen bakken fietsen auto's autos
    scooters woningen huizen plekken plaatsen kramen palen lantaarnpalen
    paspoorten pasjes exemplaren stoelen banken tegels gaten kuilen
    januari februari maart april mei juni juli augustus september oktober
    november december jan feb mrt apr jun jul aug sep sept okt nov dec
""".split())
_NEXT_WORD_RE = re.compile(r"\s*([^\W\d_][\w'%]*|%)")


def _followed_by_unit(text: str, end: int) -> bool:
    match = _NEXT_WORD_RE.match(text, end)
    return bool(match) and match.group(1).lower() in _UNIT_WORDS


# ---------------------------------------------------------------- e-mail

_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[\w.+-]+(?:@|\s?[(\[]at[)\]]\s?)[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])",
    re.I,
)
_AT_SIGN_RE = re.compile(r"@|[(\[]at[)\]]", re.I)


def _find_email(text: str) -> Iterator[Range]:
    if not _AT_SIGN_RE.search(text):  # cheap pre-check: most messages have none
        return
    for match in _EMAIL_RE.finditer(text):
        yield match.span()


# ---------------------------------------------------------------- IBAN

# Country code + check digits + 11..30 more characters, optionally in groups.
# The candidate is greedy (it may run into the following words), so it is
# cut back at token boundaries until the longest valid IBAN remains.
_IBAN_RE = re.compile(r"(?<![\w])[A-Za-z]{2} ?\d{2}(?:[ -]?[A-Za-z0-9]){11,32}")
_TOKEN_END_RE = re.compile(r"[A-Za-z0-9](?=[ -]|$)")


def _find_iban(text: str) -> Iterator[Range]:
    for match in _IBAN_RE.finditer(text):
        candidate = match.group()
        ends = [m.end() for m in _TOKEN_END_RE.finditer(candidate)]
        for cut in reversed(ends):
            # Mod-97 and the country's length and layout; the bank-code
            # registry check is skipped: a typo in the bank code is still data.
            if _iban.is_valid(candidate[:cut], check_country=False):
                yield match.start(), match.start() + cut
                break


# ---------------------------------------------------------------- payment card

# 13-19 digits written contiguously or in the usual groups (4-4-4-4[-3],
# Amex 4-6-5). Free spacing is not accepted: lists of numbers would match.
_CARD_RE = re.compile(
    r"(?<![\w.,+-])"
    r"(\d{13,19}|\d{4}([ -])\d{4}\2\d{4}\2\d{1,4}(?:\2\d{1,3})?|\d{4}([ -])\d{6}\3\d{4,5})"
    r"(?![\w]|[.,-]\d)"
)


def _find_payment_card(text: str) -> Iterator[Range]:
    for match in _CARD_RE.finditer(text):
        digits = _DIGITS_ONLY_RE.sub("", match.group(1))
        # Issuer prefixes 2-6 cover Mastercard, Visa, Amex, Maestro/V PAY;
        # it also keeps long order numbers starting with 0, 1, 7-9 out.
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and _luhn.is_valid(digits):
            yield match.span(1)


# ---------------------------------------------------------------- BSN

# Any 8 or 9 digits, possibly split by spaces, dots or dashes; not glued to
# other numbers ("06 12345678" must not yield "12345678").
_BSN_RE = re.compile(
    r"(?<![\w.,/+-])(?<!\d[ .-])\d(?:[ .-]?\d){7,8}(?!\w|[.,/-]\d|[ ]\d{3})"
)
# The ways people write a BSN; other splits only count next to a context word.
_BSN_SHAPE_RE = re.compile(
    r"\d{9}|\d{4}[ .]\d{2}[ .]\d{3}|\d{3}([ .-])\d{3}\1\d{3}|\d{2}[ .]\d{3}[ .]\d{3}"
)
# "12-04-1988" near "bsn" is a date, not a split BSN.
_DATE_SHAPE_RE = re.compile(r"\d{1,2}([-/. ])\d{1,2}\1(?:19|20)\d{2}")
_CURRENCY_BEFORE_RE = re.compile(r"(?:€|eur|euro)\s*$", re.I)
_BSN_CONTEXT_RE = re.compile(
    r"\b(?:bsn|b\.s\.n|burger\s?service\s?nummer|burgerservicenr|sofi(?:-?nummer|-?nr)?|"
    r"persoonsnummer|citizen service number)\b",
    re.I,
)
# Case and customer numbers are fine to send; a 9-digit one that happens to
# pass the 11-proef must not be flagged when it is announced as such.
_OTHER_NUMBER_RE = re.compile(
    r"\b(?:zaak|klant|order|factuur|dossier|referentie|aanvraag|bestel|registratie|"
    r"relatie|aanslag|kenmerk|ticket|melding|debiteur|contract)(?:nummer|nr)?\b",
    re.I,
)
# "+31 612 345 678" and "0031 612 345 678" are phone numbers, not BSNs.
_PHONE_PREFIX_RE = re.compile(r"(?:\+|\b00)\d{1,3}[\s-]*(?:\(0\)[\s-]*)?$")


def _find_bsn(text: str) -> Iterator[Range]:
    for match in _BSN_RE.finditer(text):
        start, end = match.span()
        if _PHONE_PREFIX_RE.search(text, max(0, start - 8), start) or _DATE_SHAPE_RE.fullmatch(
            match.group()
        ):
            continue
        if _context_near(text, start, end, _BSN_CONTEXT_RE, 50, 25):
            # With a context word even a mistyped (invalid) number is a BSN.
            yield start, end
        elif _bare_bsn(text, match):
            yield start, end


def _bare_bsn(text: str, match: re.Match[str]) -> bool:
    """A 9-digit number without context: only if it looks and checks like a BSN
    and is not announced as a case number or an amount."""
    start, end = match.span()
    return bool(
        _BSN_SHAPE_RE.fullmatch(match.group())
        and _bsn.is_valid(_DIGITS_ONLY_RE.sub("", match.group()))
        and not _context_near(text, start, end, _OTHER_NUMBER_RE, 25, 0)
        and not _CURRENCY_BEFORE_RE.search(text, max(0, start - 6), start)
        and not _followed_by_unit(text, end)
    )


# ---------------------------------------------------------------- phone

# Municipal 14 0xx numbers, 088 company numbers (both UAN), 0800/0900 service
# numbers and the like belong to organisations, not to a person.
_NON_PERSONAL_PHONE_TYPES = frozenset({
    PhoneNumberType.UAN,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.VOICEMAIL,
})


def _find_phone(text: str) -> Iterator[Range]:
    # The matcher is the slowest detector; a phone number has >= 8 digits.
    if len(_DIGIT_RE.findall(text)) < 8:
        return
    for match in PhoneNumberMatcher(text, "NL", leniency=Leniency.VALID):
        if phonenumbers.number_type(match.number) not in _NON_PERSONAL_PHONE_TYPES:
            yield match.start, match.end


# ---------------------------------------------------------------- address

_STREET_SUFFIXES = (
    "straat|straatje|str\\.?|weg|laan|laantje|plein|pleintje|gracht|kade|dijk|singel|"
    "dreef|hof|steeg|markt|pad|baan|erf|wal|zijde|haven|allee|boulevard|plantsoen|"
    "park|akker|weide|vliet|kwartier|veld|brink|gaarde|schans|sloot|zoom|"
    "wetering|polder|kanaal|hoeve|dal|heuvel"
)
_HOUSE_NUMBER = (
    r"(?:(?:op\s+)?(?:nr|no|nummer|huisnummer|hnr)\.?:?\s*)?"
    r"[1-9]\d{0,3}"
    # Additions: 12a, 12 A, 12-B, 12-1, 12 hs, 12-bis, 12 II.
    r"(?:\s?-?\s?[A-Za-z](?![\w'/])|-?(?:hs|bis|bg|zw)(?![\w])|-\d{1,3}(?!\d)|\s?-?\s?I{1,3}(?![\w]))?"
)
# The number must not be the start of a time, price or decimal ("12:30", "12,50").
_HOUSE_NUMBER_END = r"(?![\d]|[:.,]\d)"
_STREET_RE = re.compile(
    # One word ending in a street suffix: Kerkstraat, dorpsweg, Kerkstr.
    r"\b[^\W\d_](?:[^\W\d_]|['-]){1,40}?(?:" + _STREET_SUFFIXES + r")(?=[\s,.\d]|$)"
    r"\.?,?\s*(" + _HOUSE_NUMBER + r")" + _HOUSE_NUMBER_END,
    re.I,
)
# The suffix as a capitalised word of its own: "Nieuwe Gracht 9", "Lange Laan 3".
_TWO_WORD_STREET_RE = re.compile(
    r"\b[A-Z][a-z]+\s+(?:Straat|Weg|Laan|Gracht|Kade|Dijk|Singel|Plein|Markt|Haven|Wal|"
    r"Dreef|Steeg|Hof|Brink|Zijde|Baan|Pad)\s*,?\s*(" + _HOUSE_NUMBER + r")" + _HOUSE_NUMBER_END
)
# The suffix word first: "Laan van Meerdervoort 1024", "Plein de Wit 3".
_SUFFIX_FIRST_STREET_RE = re.compile(
    r"\b(?:Laan|Plein|Weg|Singel|Kade|Dreef|Hof|Gracht)\s+(?:(?:van|der|de|den|het|'t|ter|ten)\s+)*"
    r"[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+){0,2}\s*,?\s*(" + _HOUSE_NUMBER + r")" + _HOUSE_NUMBER_END
)
# Name words in front of the suffix word: "Jan van Galenstraat", "Prins Hendrikkade".
_STREET_PREFIX_RE = re.compile(
    r"(?:(?:[A-Z][\w'-]*|van|de|der|den|het|'t|ter|ten)\s+){1,3}$"
)
_WORD_RE = re.compile(r"[^\W\d_][\w'-]*")
# "de Kerkstraat 2026 klaar?": a bare year after a street is not a house number.
_YEAR_RE = re.compile(r"(?:19|20)\d{2}")
# "Molenstraat 1 t/m 20": a range of houses (a works notice), not one address.
_RANGE_AFTER_RE = re.compile(r"\s*(?:t/m|tm|tot(?:\s+en\s+met)?)\s*\d", re.I)
_NOT_STREET_PREFIX = frozenset(
    "ik wij we je jij u mijn onze op in aan bij naar de het een is en of "
    "hallo hoi beste goedemorgen goedemiddag graag woon wonen".split()
)

_POSTCODE_RE = re.compile(r"(?<![\w])([1-9]\d{3})\s?([A-Za-z]{2})(?![\w])")
# Lower-case two-letter words after a year or count are not postcode letters:
# "2019 en 3 containers", "1200 op 5 plekken".
_COMMON_TWO_LETTER = frozenset(
    "en in op om of te de ik je we ze is al na ca nu zo pm am uw er ga ja nr no "
    "eh he oa dr mr cm km kg mg ml st vs et ex ad tm to at by on an as it be".split()
)
_AFTER_POSTCODE_RE = re.compile(
    r"\s*[,-]?\s*(?:(?:en\s+)?(?:huisnummer|huisnr|nummer|nr|no|hnr)\.?:?\s*)?"
    r"([1-9]\d{0,4}(?:\s?-?\s?[A-Za-z](?![\w])|-\d{1,3})?)(?![\w]|[:.,]\d)"
)
_BEFORE_POSTCODE_RE = re.compile(
    r"(?:huisnummer|huisnr|hnr)\.?:?\s*[1-9]\d{0,4}[A-Za-z]?\s*[,-]?\s*"
    r"(?:(?:en|met)\s+)?(?:postcode\s*:?\s*)?$",
    re.I,
)
_LEADING_POSTCODE_RE = re.compile(r"\s*,?\s*([1-9]\d{3}\s?[A-Za-z]{2})(?![\w])")

# "ik woon op Zonnebloem 14", "mijn adres is Dorp 5": street names without a
# known suffix, recognised by a living/address verb in front.
_LIVING_RE = re.compile(
    r"\b(?:woon|wonen|woont|woonachtig|verhuisd|verhuis|verhuizen|(?:woon|post|huis)?adres)\b",
    re.I,
)
_NAME_THEN_NUMBER_RE = re.compile(
    r"((?:[^\W\d_][\w'-]*\s+){1,3}?)([1-9]\d{0,3}(?:[a-zA-Z](?![\w]))?)(?![\w]|[:.,]\d)"
)
_NOT_STREET_WORDS = frozenset(
    "ik wij we je jij u hij zij mijn onze op in aan bij naar de het een is was en of "
    "al nu hier daar nog sinds pas er dan met van voor na ongeveer bijna ruim meer "
    "dan dat die deze dit nummer nr huisnummer postcode sinds vanaf tot om ben zijn "
    "heb hebben wordt worden gaat ga wil kan moet al ook niet wel maar want sinds "
    "is veranderd gewijzigd ingeschreven staat stond jaar op per".split()
)


def _postcode_ok(digits: str, letters: str) -> bool:
    if letters.islower() and letters in _COMMON_TWO_LETTER:
        return False
    return _postcode.is_valid(digits + letters)


def _street_matches(text: str) -> Iterator[re.Match[str]]:
    yield from _STREET_RE.finditer(text)
    yield from _TWO_WORD_STREET_RE.finditer(text)
    yield from _SUFFIX_FIRST_STREET_RE.finditer(text)


def _street_start(text: str, start: int) -> int:
    """Move start back over the name words of a street: "Jan van Galenstraat",
    "Prins Hendrikkade". The first kept word is capitalised and not a common
    word, so "ik woon op de" and "voor de deur van" stay outside."""
    prefix = _STREET_PREFIX_RE.search(text, max(0, start - 40), start)
    if prefix:
        for word in _WORD_RE.finditer(text, prefix.start(), start):
            if word.group()[0].isupper() and word.group().lower() not in _NOT_STREET_PREFIX:
                return word.start()
    return start


def _find_street_addresses(text: str) -> Iterator[Range]:
    for match in _street_matches(text):
        end = match.end()
        if (
            _followed_by_unit(text, end)
            or _RANGE_AFTER_RE.match(text, end)
            or _YEAR_RE.fullmatch(match.group(1))
        ):
            continue
        # "Kerkstraat 12, 1234 AB": take the postcode along.
        tail = _LEADING_POSTCODE_RE.match(text, end)
        if tail and _postcode.is_valid(tail.group(1)):
            end = tail.end()
        yield _street_start(text, match.start()), end


def _find_postcode_addresses(text: str) -> Iterator[Range]:
    for match in _POSTCODE_RE.finditer(text):
        digits, letters = match.groups()
        if not _postcode_ok(digits, letters):
            continue
        after = _AFTER_POSTCODE_RE.match(text, match.end())
        if after and not _followed_by_unit(text, after.end()):
            yield match.start(), after.end()
            continue
        before = _BEFORE_POSTCODE_RE.search(text, max(0, match.start() - 50), match.start())
        if before:  # "huisnummer 12, postcode 1234 AB"
            yield before.start(), match.end()
        # A postcode alone ("1741 AB") is an area, not an address.


def _find_context_addresses(text: str) -> Iterator[Range]:
    for trigger in _LIVING_RE.finditer(text):
        window_end = min(len(text), trigger.end() + 60)
        match = _NAME_THEN_NUMBER_RE.search(text, trigger.end(), window_end)
        if not match or _followed_by_unit(text, match.end()) or _YEAR_RE.fullmatch(match.group(2)):
            continue
        # Keep only the name words right before the number: "op de Zonnebloem 14".
        start: int | None = None
        for word in _WORD_RE.finditer(text, match.start(), match.start(2)):
            if word.group().lower() in _NOT_STREET_WORDS:
                start = None
            elif start is None:
                start = word.start()
        if start is not None:
            yield start, match.end()


def _find_address(text: str) -> Iterator[Range]:
    yield from _find_street_addresses(text)
    yield from _find_postcode_addresses(text)
    yield from _find_context_addresses(text)


# ---------------------------------------------------------------- date of birth

_MONTHS = {
    "januari": 1, "jan": 1, "februari": 2, "feb": 2, "febr": 2, "maart": 3, "mrt": 3,
    "mar": 3, "april": 4, "apr": 4, "mei": 5, "juni": 6, "jun": 6, "juli": 7,
    "jul": 7, "augustus": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}
_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_RE = re.compile(
    r"(?<![\w/.-])(?:"
    # 01-02-1975, 1/2/75, 01.02.1975, 1-2-'75
    r"(?P<d1>\d{1,2})(?P<sep>[-/.])(?P<m1>\d{1,2})(?P=sep)(?P<y1>\d{4}|'?\d{2})"
    # 01 02 1975 (spaces only with a four-digit year: "06 12 34" is a phone)
    r"|(?P<d4>\d{1,2}) (?P<m4>\d{1,2}) (?P<y4>(?:19|20)\d{2})"
    # 01021975
    r"|(?P<d5>[0-3]\d)(?P<m5>[01]\d)(?P<y5>(?:19|20)\d{2})"
    # 1975-02-01
    r"|(?P<y2>\d{4})-(?P<m2>\d{1,2})-(?P<d2>\d{1,2})"
    # 3 maart 1980, 3e mrt '80, 3-mrt-1980, 3 maart (year optional)
    r"|(?P<d3>\d{1,2})(?:e|ste|de)?[\s-]*(?P<m3>" + _MONTH_ALT + r")\.?"
    r"(?:[\s-]*(?P<y3>'?\d{2}(?!\d)|\d{4}))?"
    r")(?![\w]|[/.-]\d)",
    re.I,
)
_BIRTH_CONTEXT_RE = re.compile(
    r"\b(?:geboren|geb\.?|geboortedatum|geb\.?\s?datum|geboortedag|gebdatum|"
    r"date of birth|born|dob)(?![\w])",
    re.I,
)
# A new clause between the context word and the date means the date is about
# something else: "mijn zoon is geboren en ik wil op 3 mei 2026 aangifte doen".
_CLAUSE_RE = re.compile(
    r"\b(?:en|maar|want|dus|wil|willen|kan|kunnen|moet|moeten|wanneer|afspraak|"
    r"trouwen|getrouwd|komen|ophalen|aangifte|overleden)\b|[!?;\n]|\.\s",
    re.I,
)
# "ik ben van 3 maart 1980", "mijn zoon is van 12-04-2010": right in front.
_BORN_ON_RE = re.compile(
    r"(?:\bik\s+ben|\b(?:zoon|dochter|kind|man|vrouw|partner|moeder|vader|oma|opa)\s+is)"
    r"\s+van\s*(?:de\s+)?$",
    re.I,
)
# Without a year, only a context word directly in front counts:
# "geboren op 3 maart" yes; "geboren, kan ik op 12 maart komen" no.
_YEARLESS_GAP_RE = re.compile(
    r"(?:geboortedatum|geboortedag|verjaardag|geboren|geb\.?)\s*(?:op|is|:)?\s*(?:de\s+)?$",
    re.I,
)
_MAX_GAP_BEFORE = 40  # "geboren in Utrecht op 3 maart 1980"
_MAX_GAP_AFTER = 15  # "3 maart 1980 geboren"


def _date_parts(match: re.Match[str]) -> tuple[int, int, str | None]:
    g = match.groupdict()
    for day, month, year in (("d1", "m1", "y1"), ("d4", "m4", "y4"), ("d5", "m5", "y5"),
                             ("d2", "m2", "y2")):
        if g[day]:
            return int(g[day]), int(g[month]), g[year]
    return int(g["d3"]), _MONTHS[g["m3"].lower()], g["y3"]


def _plausible_birth_year(year: str) -> bool:
    """A birth date lies in the past: this keeps appointment dates out."""
    value = int(year.lstrip("'"))
    this_year = _dt.date.today().year
    if value < 100:  # '78 -> 1978, 05 -> 2005
        value += 2000 if value <= this_year % 100 else 1900
    return 1900 <= value <= this_year


def _birth_context(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - 60):start]
    if _BORN_ON_RE.search(before):
        return True
    for match in _BIRTH_CONTEXT_RE.finditer(before):
        gap = before[match.end():]
        if len(gap) <= _MAX_GAP_BEFORE and not _CLAUSE_RE.search(gap):
            return True
    match = _BIRTH_CONTEXT_RE.search(text, end, end + _MAX_GAP_AFTER + 10)
    return bool(match) and match.start() - end <= _MAX_GAP_AFTER and not _CLAUSE_RE.search(
        text, end, match.start()
    )


def _find_birthdate(text: str) -> Iterator[Range]:
    for match in _DATE_RE.finditer(text):
        day, month, year = _date_parts(match)
        if not (1 <= day <= 31 and 1 <= month <= 12):
            continue
        start, end = match.span()
        if year is None:
            if _YEARLESS_GAP_RE.search(text, max(0, start - 40), start):
                yield start, end
        elif _plausible_birth_year(year) and _birth_context(text, start, end):
            yield start, end


# ---------------------------------------------------------------- licence plate

# Dutch sidecodes 1-14 (L = letter, D = digit).
_SIDECODES = (
    "LL-DD-DD", "DD-DD-LL", "DD-LL-DD", "LL-DD-LL", "LL-LL-DD", "DD-LL-LL",
    "DD-LLL-D", "D-LLL-DD", "LL-DDD-L", "L-DDD-LL", "LLL-DD-L", "L-DD-LLL",
    "D-LL-DDD", "DDD-LL-D",
)


def _sidecode_pattern(code: str, separator: str) -> str:
    groups = [("[A-Za-z]" if g[0] == "L" else r"\d") + "{%d}" % len(g) for g in code.split("-")]
    return separator.join(groups)


# One separator used throughout (XX-99-99, XX 99 99, XX9999), so that
# "auto 97 HLS 1" cannot be read as AU-TO-97.
_PLATE_RE = re.compile(
    r"(?<![\w-])(?:"
    + "|".join(_sidecode_pattern(code, sep) for sep in ("-", " ", "") for code in _SIDECODES)
    + r")(?![\w-])"
)
_PLATE_CONTEXT_RE = re.compile(
    r"\b(?:kenteken\w*|nummerplaat\w*|plaat|auto|auto's|autos|autootje|wagen|voertuig\w*|parkeer\w*|"
    r"geparkeerd|parkeren|bus|busje|bestelbus|camper|caravan|aanhanger|aanhangwagen|"
    r"motor|scooter|brommer|vrachtwagen|laadpaal|wrak|rdw|apk|blauwe zone)\b",
    re.I,
)
# Without a context word only the written-out form counts: dashes, capitals
# and no vowels, as on every current Dutch plate.
_VOWEL_RE = re.compile(r"[aeiouAEIOU]")
_BARE_PLATE_RE = re.compile(r"^[B-DF-HJ-NP-TV-Z0-9]+(?:-[B-DF-HJ-NP-TV-Z0-9]+){2}$")


def _spaced_plate_ok(plate: str) -> bool:
    """Spaces also separate words: "mijn auto is op 12 mei 3 keer" holds
    "is op 12" and "12 mei 3". Plates carry no vowels, so words drop out."""
    letters = [part for part in plate.split() if part.isalpha()]
    return not any(
        _VOWEL_RE.search(part) or part.lower() in _COMMON_TWO_LETTER for part in letters
    )


def _find_licence_plate(text: str) -> Iterator[Range]:
    for match in _PLATE_RE.finditer(text):
        plate = match.group()
        if not any(c.isdigit() for c in plate) or not any(c.isalpha() for c in plate):
            continue
        if " " in plate and not _spaced_plate_ok(plate):
            continue
        if _BARE_PLATE_RE.match(plate) or _context_near(
            text, match.start(), match.end(), _PLATE_CONTEXT_RE, 60, 40
        ):
            yield match.span()


# ---------------------------------------------------------------- document number

# Dutch passport / ID card: 2 letters, 6 letters or digits, 1 digit, never
# the letter O; stdnum checks the exact format. Needs a context word because
# the shape alone also fits product codes and references.
_DOCUMENT_RE = re.compile(r"(?<![\w-])[A-Za-z]{2}[A-Za-z0-9]{6}\d(?![\w-])")
# Dutch driving licence numbers: 10 digits. A leading 0 is a phone number.
_LICENCE_NUMBER_RE = re.compile(r"(?<![\w-])[1-9]\d{9}(?![\w-])")
_DOCUMENT_CONTEXT_RE = re.compile(
    r"\b(?:paspoort\w*|id-?kaart\w*|identiteitskaart\w*|identiteitsbewijs\w*|"
    r"legitimatie\w*|documentnummer|documentnr|document|reisdocument\w*|id|rijbewijs\w*)\b",
    re.I,
)
_DRIVING_LICENCE_CONTEXT_RE = re.compile(r"\brijbewijs\w*", re.I)


def _find_document_number(text: str) -> Iterator[Range]:
    for match in _DOCUMENT_RE.finditer(text):
        if _passport.is_valid(match.group()) and _context_near(
            text, match.start(), match.end(), _DOCUMENT_CONTEXT_RE, 60, 40
        ):
            yield match.span()
    for match in _LICENCE_NUMBER_RE.finditer(text):
        if _context_near(text, match.start(), match.end(), _DRIVING_LICENCE_CONTEXT_RE, 40, 20):
            yield match.span()


# ---------------------------------------------------------------- spelled-out digits

# "mijn bsn is een twee drie ..." or "bel nul zes ...": a number typed as
# words, to get past a digit filter or by voice input. A run of eight or more
# digit words (digits may be mixed in) is written as digits and given to the
# number detectors, with the same context rules; a hit covers the whole run.
_DIGIT_WORDS = {
    "nul": "0", "zero": "0", "een": "1", "één": "1", "eén": "1", "twee": "2", "drie": "3",
    "vier": "4", "vijf": "5", "zes": "6", "zeven": "7", "acht": "8", "negen": "9",
}
_DIGIT_TOKEN_RE = re.compile(r"(?<!\w)(?:%s|\d+)(?!\w)" % "|".join(_DIGIT_WORDS), re.I)
_RUN_GAP_RE = re.compile(r"[\s,.\-/]*")
_MIN_RUN_DIGITS = 8


def _spelled_runs(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, digits) of each run of digit words and digits with a word in it."""
    tokens = list(_DIGIT_TOKEN_RE.finditer(text))
    index = 0
    while index < len(tokens):
        last = index
        while last + 1 < len(tokens) and _RUN_GAP_RE.fullmatch(
                text, tokens[last].end(), tokens[last + 1].start()):
            last += 1
        run = tokens[index:last + 1]
        digits = "".join(_DIGIT_WORDS.get(t.group().lower(), t.group()) for t in run)
        if len(digits) >= _MIN_RUN_DIGITS and any(not t.group().isdigit() for t in run):
            yield run[0].start(), run[-1].end(), digits
        index = last + 1


def _spelled(detector: Callable[[str], Iterable[Range]]) -> Callable[[str], Iterator[Range]]:
    """``detector`` run on the text with each spelled run written as digits."""
    def find(text: str) -> Iterator[Range]:
        for start, end, digits in _spelled_runs(text):
            written = text[:start] + digits + text[end:]
            if any(s < start + len(digits) and e > start for s, e in detector(written)):
                yield start, end
    return find


_find_spelled_bsn = _spelled(_find_bsn)
_find_spelled_phone = _spelled(_find_phone)


# ---------------------------------------------------------------- scan

_DETECTORS: tuple[tuple[str, Callable[[str], Iterable[Range]]], ...] = (
    ("email", _find_email),
    ("iban", _find_iban),
    ("payment_card", _find_payment_card),
    ("bsn", _find_bsn),
    ("document_number", _find_document_number),
    ("licence_plate", _find_licence_plate),
    ("birthdate", _find_birthdate),
    ("phone", _find_phone),
    ("address", _find_address),
    ("bsn", _find_spelled_bsn),
    ("phone", _find_spelled_phone),
)

# Without a digit only these can find anything.
_WITHOUT_DIGITS = (("email", _find_email), ("bsn", _find_spelled_bsn), ("phone", _find_spelled_phone))


def _merge(spans: list[Span]) -> list[Span]:
    """Merge overlapping spans into their union, keeping the most specific kind."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            kind = min(last.kind, span.kind, key=_RANK.__getitem__)
            merged[-1] = Span(kind, last.start, max(last.end, span.end))
        else:
            merged.append(span)
    return merged


def _redact(text: str, spans: list[Span]) -> str:
    parts: list[str] = []
    position = 0
    for span in spans:
        parts.append(text[position:span.start])
        parts.append(PLACEHOLDERS[span.kind])
        position = span.end
    parts.append(text[position:])
    return "".join(parts)


def _run(kind: str, detector: Callable[[str], Iterable[Range]], text: str) -> list[Span]:
    try:
        return [Span(kind, start, end) for start, end in detector(text)]
    except Exception as exc:  # noqa: BLE001 - re-raised below without the text
        failure = f"{kind} detector failed: {type(exc).__name__}"
    # Raised outside the except block so the original exception (whose message
    # or traceback locals might hold the text) is not even kept as __context__.
    raise PrivacyScanError(failure)


def scan(text: str) -> Scan:
    """Find personal data in ``text`` and return the spans and redacted text."""
    if not isinstance(text, str):
        raise TypeError(f"scan() expects str, got {type(text).__name__}")
    # Every kind except e-mail contains a digit, or digit words: most chat
    # messages ("hoe laat zijn jullie open?") need only the cheap checks.
    detectors = _DETECTORS if _DIGIT_RE.search(text) else _WITHOUT_DIGITS
    found = [span for kind, detector in detectors for span in _run(kind, detector, text)]
    spans = _merge(found)
    return Scan(redacted=_redact(text, spans), spans=tuple(spans))
