"""Tests for the privacy gate (bot/privacy.py) and its eval (bot/privacy_eval.py).

All identifiers below are synthetic: BSNs pass the 11-proef, IBANs mod-97 and
card numbers Luhn, generated with tests/privacy/make_values.py or taken from
the well-known test values (111222333, NL91ABNA0417164300, 4111 1111 1111 1111).
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest

from bot import privacy
from bot.privacy import KIND_LABELS_NL, KINDS, PLACEHOLDERS, PrivacyScanError, Scan, Span, scan
from bot.privacy_eval import evaluate, load_cases, main

CASES = Path(__file__).resolve().parents[1] / "privacy"
DEV_SET = CASES / "cases.yml"
HOLDOUT_SET = CASES / "cases_holdout.yml"


def found(text: str) -> list[tuple[str, str]]:
    return [(s.kind, text[s.start:s.end]) for s in scan(text).spans]


def check_positive(kind: str, text: str, value: str) -> None:
    assert (kind, value) in found(text), found(text)


# ------------------------------------------------------------------ per kind

@pytest.mark.parametrize("text, value", [
    ("mijn bsn is 111222333 kan ik mijn paspoort ophalen", "111222333"),
    ("BSN: 1112.22.333", "1112.22.333"),
    ("burgerservicenummer 111 222 333", "111 222 333"),
    ("bsn 111-222-333", "111-222-333"),
    ("sofinummer 12345672 (zonder nul)", "12345672"),  # 8 digits, leading zero dropped
    ("bsn 12 34 56 782", "12 34 56 782"),
    ("b.s.n. 123456782 graag", "123456782"),
    ("bsn 123456789 klopt dat?", "123456789"),  # fails the 11-proef, but announced as BSN
    ("kunt u 123456782 nakijken", "123456782"),  # no context, but a valid 11-proef
    # spelled out, to get past a digit filter (or by voice input)
    ("mijn bsn is een een een twee twee twee drie drie drie", "een een een twee twee twee drie drie drie"),
    ("bsn: 1 2 drie vier 5 6 zeven acht 2", "1 2 drie vier 5 6 zeven acht 2"),
    ("kunt u een twee drie vier vijf zes zeven acht twee nakijken",
     "een twee drie vier vijf zes zeven acht twee"),   # valid 11-proef, no context
])
def test_bsn(text, value):
    check_positive("bsn", text, value)


@pytest.mark.parametrize("text, value", [
    ("rekening NL91ABNA0417164300 graag", "NL91ABNA0417164300"),
    ("iban NL91 ABNA 0417 1643 00 tnv mij", "NL91 ABNA 0417 1643 00"),
    ("nl91abna0417164300", "nl91abna0417164300"),
    ("NL 91 ABNA 0417 1643 00", "NL 91 ABNA 0417 1643 00"),
    ("NL91-ABNA-0417-1643-00", "NL91-ABNA-0417-1643-00"),
    ("belgisch BE68539007547034 aub", "BE68539007547034"),
    ("DE89 3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 00"),
    ("GB29 NWBK 6016 1331 9268 19 is mijn engelse", "GB29 NWBK 6016 1331 9268 19"),
])
def test_iban(text, value):
    check_positive("iban", text, value)


@pytest.mark.parametrize("text, value", [
    ("bel me op 06-12345678", "06-12345678"),
    ("06 12345678", "06 12345678"),
    ("0612345678", "0612345678"),
    ("06 - 12 34 56 78", "06 - 12 34 56 78"),
    ("06.12.34.56.78 graag", "06.12.34.56.78"),
    ("+31 6 1234 5678", "+31 6 1234 5678"),
    ("+31612345678", "+31612345678"),
    ("0031 6 12345678", "0031 6 12345678"),
    ("+31 (0)6 1234 5678", "+31 (0)6 1234 5678"),
    ("tel (020) 555 1234", "(020) 555 1234"),
    ("020-5551234", "020-5551234"),
    ("0299-123456", "0299-123456"),
    ("+32 470 12 34 56", "+32 470 12 34 56"),
    ("+48 512 345 678", "+48 512 345 678"),  # 3-3-3 groups: a phone, not a BSN
    ("+44 7911 123456", "+44 7911 123456"),
    ("bel nul zes een twee drie vier vijf zes zeven acht",
     "nul zes een twee drie vier vijf zes zeven acht"),
    ("mijn nummer is 06 een twee drie vier vijf zes zeven acht",
     "06 een twee drie vier vijf zes zeven acht"),
])
def test_phone(text, value):
    check_positive("phone", text, value)


@pytest.mark.parametrize("text, value", [
    ("mail naar jan.jansen@gmail.com aub", "jan.jansen@gmail.com"),
    ("JAN.DE.VRIES@GMAIL.COM", "JAN.DE.VRIES@GMAIL.COM"),
    ("mo+gemeente@outlook.nl.", "mo+gemeente@outlook.nl"),
    ("jan(at)gmail.com", "jan(at)gmail.com"),
])
def test_email(text, value):
    check_positive("email", text, value)


@pytest.mark.parametrize("text, value", [
    ("ik woon op de dorpsweg 5", "dorpsweg 5"),
    ("Kerkstraat 12a", "Kerkstraat 12a"),
    ("Kerkstraat 12 A", "Kerkstraat 12 A"),
    ("Kerkstr. 12 container vol", "Kerkstr. 12"),
    ("Kerkstraat 12, 1234 AB Amsterdam", "Kerkstraat 12, 1234 AB"),
    ("Jan van Galenstraat 34-2", "Jan van Galenstraat 34-2"),
    ("Prins Hendrikkade 104", "Prins Hendrikkade 104"),
    ("Nieuwe Gracht 9", "Nieuwe Gracht 9"),
    ("Laan van Meerdervoort 1024", "Laan van Meerdervoort 1024"),
    ("ik woon in de Kerkstraat op nummer 12", "Kerkstraat op nummer 12"),
    ("1234 AB 12", "1234 AB 12"),
    ("1234AB 5", "1234AB 5"),
    ("postcode 1234AB huisnummer 5", "1234AB huisnummer 5"),
    ("huisnummer 12, postcode 1234 AB", "huisnummer 12, postcode 1234 AB"),
    ("ik woon op Zonnebloem 14", "Zonnebloem 14"),
    ("mijn adres is Dorp 5 in Ede", "Dorp 5"),
])
def test_address(text, value):
    check_positive("address", text, value)


@pytest.mark.parametrize("text, value", [
    ("ik ben van 3 maart 1980", "3 maart 1980"),
    ("mijn geboortedatum is 01-02-1975", "01-02-1975"),
    ("geb. 12-5-1980", "12-5-1980"),
    ("geboortedatum: 1975-02-01", "1975-02-01"),
    ("geboren 01021975", "01021975"),
    ("Mijn geboortedatum 01 02 1975", "01 02 1975"),
    ("geb: 1-2-'75", "1-2-'75"),
    ("ik ben 3 maart 1980 geboren", "3 maart 1980"),
    ("ik ben geboren in Utrecht op 23 november 1987", "23 november 1987"),
    ("geboren op 3 maart", "3 maart"),  # no year, but the context word is right in front
    ("mijn dochter is van 12-04-2010", "12-04-2010"),
])
def test_birthdate(text, value):
    check_positive("birthdate", text, value)


@pytest.mark.parametrize("text, value", [
    ("kenteken PB-12-34", "PB-12-34"),        # sidecode 1
    ("kenteken 12-34-BR", "12-34-BR"),        # 2
    ("kenteken 12-BR-34", "12-BR-34"),        # 3
    ("kenteken RT-45-ZX", "RT-45-ZX"),        # 4
    ("kenteken BR-TZ-12", "BR-TZ-12"),        # 5
    ("kenteken 12-TZ-BR", "12-TZ-BR"),        # 6
    ("mijn auto 12-BCD-3", "12-BCD-3"),       # 7
    ("parkeervergunning 5-KHX-81", "5-KHX-81"),  # 8
    ("kenteken ZT-529-N", "ZT-529-N"),        # 9
    ("G-123-BB", "G-123-BB"),                 # 10, no context needed in this form
    ("kenteken GHJ-12-K", "GHJ-12-K"),        # 11
    ("kenteken K-12-GHJ", "K-12-GHJ"),        # 12
    ("kenteken 1-KF-123", "1-KF-123"),        # 13
    ("kenteken 123-KF-1", "123-KF-1"),        # 14
    ("kenteken gb123x", "gb123x"),
    ("auto 97 HLS 1 mag daar parkeren", "97 HLS 1"),
])
def test_licence_plate(text, value):
    check_positive("licence_plate", text, value)


@pytest.mark.parametrize("text, value", [
    ("mijn paspoortnummer is NXC3R41J7", "NXC3R41J7"),
    ("documentnummer SPECI2014", "SPECI2014"),
    ("id-kaart nr ih8kd92l3", "ih8kd92l3"),
    ("rijbewijsnummer 5012345678", "5012345678"),
])
def test_document_number(text, value):
    check_positive("document_number", text, value)


@pytest.mark.parametrize("text, value", [
    ("kaart 4111 1111 1111 1111", "4111 1111 1111 1111"),
    ("4111-1111-1111-1111", "4111-1111-1111-1111"),
    ("mastercard 5555555555554444", "5555555555554444"),
    ("amex 3782 822463 10005", "3782 822463 10005"),
    ("maestro 6703000000000000003", "6703000000000000003"),
])
def test_payment_card(text, value):
    check_positive("payment_card", text, value)


@pytest.mark.parametrize("text", [
    # municipal, emergency and service numbers
    "bel 14 0123 voor een afspraak",
    "140123",
    "In nood altijd 112 bellen",
    "ik heb 0800-1234 gebeld",
    "0900 1234567 is dat de politie?",
    "bel voor storingen 088 1234567",
    # times, prices, amounts, percentages, years, counts
    "De milieustraat is open van 08:30 tot 16:00",
    "open 08:30-17:00",
    "een paspoort kost € 77,55",
    "de aanslag is € 1.250,00",
    "is het 21% btw?",
    "sinds 2019 woon ik hier",
    "ik heb 3 containers nodig en 2 paspoorten",
    "ik heb 123456782 euro",
    # dates without birth context
    "kan ik op 12 maart komen",
    "ophalen op 3-4-2026",
    "mijn zoon is geboren en ik wil op 3 mei 2026 aangifte komen doen",
    "mijn zoon is geboren, kan ik op 12 maart komen",
    "mijn paspoort verloopt op 3 maart 2027",
    # postcode area, street without number, ranges, years
    "1741",
    "ik woon in 1741 AB, wanneer komt het oud papier?",
    "postcode 1234 AB is dat binnen de gemeente?",
    "2019 en 3 containers",
    "wordt de kerkstraat opgebroken",
    "de kerkstraat is 3 weken afgesloten",
    "Molenstraat 1 t/m 20 geen stroom",
    "de verbouwing aan de Kerkstraat 2026 klaar?",
    "ik woon hier al 3 jaar",
    "ik woon in Almere sinds 2019",
    # case numbers and references
    "zaaknummer 123456782",
    "mijn zaaknummer is Z-2024-001234",
    "factuurnummer 2024001234",
    "btw NL001234567B01",
    # plates and documents without context or shape
    "12-ABC-3",
    "COVID-19 vaccinatie waar?",
    "waar vind ik mijn documentnummer?",
    "hoe lang is mijn paspoort 10 jaar geldig",
    # digit words that are not a number
    "ik heb een vraag over twee dingen en drie kinderen",
    "een, twee, drie, vier: wanneer komt de kliko?",
    "een een een twee twee twee drie drie vier",     # fails the 11-proef, no context
])
def test_hard_negatives(text):
    assert found(text) == []


# ------------------------------------------------------------------ redaction and API

def test_redaction_placeholders():
    text = "bsn 111222333, mail jan@example.nl, bel 06-12345678"
    result = scan(text)
    assert result.redacted == "bsn [BSN], mail [E-MAIL], bel [TELEFOON]"
    assert result.kinds == ("bsn", "email", "phone")
    assert result.found


def test_every_kind_has_placeholder_and_label():
    assert set(PLACEHOLDERS) == set(KINDS) == set(KIND_LABELS_NL)


def test_every_kind_redacts_to_its_placeholder():
    samples = {
        "bsn": "bsn 111222333",
        "iban": "NL91ABNA0417164300",
        "phone": "06-12345678",
        "email": "a@b.nl",
        "address": "Kerkstraat 12",
        "birthdate": "geboren 3 maart 1980",
        "licence_plate": "kenteken 12-BCD-3",
        "document_number": "paspoort NXC3R41J7",
        "payment_card": "4111 1111 1111 1111",
    }
    for kind, text in samples.items():
        result = scan(text)
        assert result.kinds == (kind,), (kind, found(text))
        assert PLACEHOLDERS[kind] in result.redacted


def test_nothing_found():
    result = scan("hoe laat is het gemeentehuis open?")
    assert result == Scan(redacted="hoe laat is het gemeentehuis open?", spans=())
    assert not result.found and result.kinds == ()


def test_scan_and_span_are_frozen():
    result = scan("bsn 111222333")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.redacted = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.spans[0].kind = "x"  # type: ignore[misc]


def test_merge_prefers_specific_kind_and_takes_union():
    merged = privacy._merge([Span("phone", 0, 10), Span("bsn", 2, 12), Span("address", 20, 25)])
    assert merged == [Span("bsn", 0, 12), Span("address", 20, 25)]


def test_overlapping_detections_are_merged_in_scan():
    # The loose BSN pattern sees "0417 1643" inside the IBAN (bsn is in context);
    # the merge keeps one IBAN span and the redaction leaves no digits behind.
    text = "bsn 111222333 en iban NL91 ABNA 0417 1643 00"
    result = scan(text)
    assert result.kinds == ("bsn", "iban")
    assert result.redacted == "bsn [BSN] en iban [IBAN]"


def test_spans_sorted_and_disjoint_on_dev_set():
    for case in load_cases(DEV_SET):
        spans = scan(case.text).spans
        for a, b in zip(spans, spans[1:], strict=False):
            assert a.end <= b.start


def test_no_gold_value_survives_redaction():
    for path in (DEV_SET, HOLDOUT_SET):
        for case in load_cases(path):
            result = scan(case.text)
            for gold in case.gold:
                caught = any(p.start < gold.end and gold.start < p.end for p in result.spans)
                if caught:  # misses are counted by the eval, not here
                    assert case.text[gold.start:gold.end] not in result.redacted


def test_rejects_non_text():
    with pytest.raises(TypeError):
        scan(b"bsn 111222333")  # type: ignore[arg-type]


def test_detector_failure_does_not_leak_text(monkeypatch):
    secret = "bsn 111222333"

    def broken(text):
        raise ValueError(f"cannot parse {text}")

    monkeypatch.setattr(privacy, "_DETECTORS", (("bsn", broken),))
    with pytest.raises(PrivacyScanError) as info:
        scan(secret)
    assert "111222333" not in str(info.value)
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_module_does_no_logging_or_io():
    source = Path(privacy.__file__).read_text(encoding="utf-8")
    for forbidden in ("import logging", "print(", "open(", "import os", "import socket"):
        assert forbidden not in source


# ------------------------------------------------------------------ speed

def test_typical_message_is_fast():
    texts = [case.text for case in load_cases(DEV_SET)]
    for text in texts:  # warm up lazy library data (IBAN registry, phone metadata)
        scan(text)
    timings = []
    for text in texts:
        start = time.perf_counter()
        scan(text)
        timings.append(time.perf_counter() - start)
    timings.sort()
    # Target is well under 1 ms; 5 ms leaves room for a busy CI machine.
    assert timings[len(timings) // 2] < 0.005


@pytest.mark.parametrize("text", [
    "a-" * 20_000 + " 1",
    "x'" * 20_000 + " 1",
    "06 " * 10_000,
    "ik woon " * 5_000 + "1",
    "1234 AB " * 5_000,
])
def test_no_catastrophic_backtracking(text):
    start = time.perf_counter()
    scan(text)
    assert time.perf_counter() - start < 3.0


# ------------------------------------------------------------------ eval and targets

def test_dev_set_size_and_targets():
    cases = load_cases(DEV_SET)
    positives = [c for c in cases if c.gold]
    negatives = [c for c in cases if not c.gold]
    assert len(cases) >= 320 and len(positives) >= 170 and len(negatives) >= 110
    assert {g.kind for c in positives for g in c.gold} == set(KINDS)
    report = evaluate(cases)
    assert report.message_recall >= 0.98
    assert report.false_alarm_rate <= 0.02


def test_holdout_stays_above_floor():
    # Written after tuning on the dev set and never tuned on (see its header).
    # First and only measurement: message recall 40/41 = 0.976, false alarms
    # 0/26. The miss is a street name without a known suffix and without a
    # living/address word ("grofvuil ophalen, Koekoeksbloem 7"). The floor
    # below is a regression guard, deliberately under the 0.98 dev target.
    report = evaluate(load_cases(HOLDOUT_SET))
    assert report.n >= 55
    assert report.message_recall >= 0.95
    assert report.false_alarm_rate <= 0.04


def test_eval_cli_json(capsys):
    assert main([str(DEV_SET), "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    metrics = json.loads(out[-1])
    for key in ("n", "message_precision", "message_recall", "false_alarm_rate",
                "span_precision", "span_recall", "per_kind"):
        assert key in metrics
    assert set(metrics["per_kind"]) == set(KINDS)
    assert "misses" in "\n".join(out) and "false alarms" in "\n".join(out)


def test_eval_counts_kind_mismatch_as_miss_and_false_alarm(tmp_path):
    path = tmp_path / "cases.yml"
    path.write_text(
        '- text: "bel 06-12345678"\n  pii:\n    - {kind: bsn, value: "06-12345678"}\n'
        '- text: "hoe laat open?"\n  pii: []\n',
        encoding="utf-8",
    )
    report = evaluate(load_cases(path))
    assert report.message_recall == 1.0  # the message is caught...
    assert report.span_recall() == 0.0  # ...but with the wrong kind
    assert len(report.misses) == 1 and len(report.false_alarms) == 1
    assert report.false_alarm_rate == 0.0


def test_load_cases_rejects_value_not_in_text(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text('- text: "abc"\n  pii:\n    - {kind: bsn, value: "111222333"}\n', encoding="utf-8")
    with pytest.raises(ValueError):
        load_cases(path)
