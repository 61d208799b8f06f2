"""Print valid *synthetic* identifiers for writing privacy test cases.

    python tests/privacy/make_values.py [--seed N] [--count N]

BSNs pass the 11-proef, IBANs pass mod-97 (and stdnum's country checks),
card numbers pass Luhn and use the issuer prefixes of test cards. The values
are random: use them in cases.yml instead of anything that could be real.
"""
from __future__ import annotations

import argparse
import random

from stdnum import iban, luhn
from stdnum.nl import bsn

NL_BANKS = ("ABNA", "INGB", "RABO", "SNSB", "ASNB", "TRIO", "KNAB", "BUNQ", "RBRB")


def make_bsn(rng: random.Random) -> str:
    while True:
        number = f"{rng.randrange(10_000_000, 1_000_000_000):09d}"
        if bsn.is_valid(number):
            return number


def make_iban(rng: random.Random, country: str = "NL") -> str:
    bban = {
        "NL": lambda: rng.choice(NL_BANKS) + f"{rng.randrange(10**10):010d}",
        "BE": lambda: _be_bban(rng),
        "DE": lambda: f"{rng.randrange(10**18):018d}",
        "FR": lambda: f"{rng.randrange(10**10):010d}" + f"{rng.randrange(10**11):011d}" + "00",
        "GB": lambda: "NWBK" + f"{rng.randrange(10**14):014d}",
    }[country]
    while True:
        base = bban()
        if country == "FR":  # French BBAN has its own RIB key in the last two digits
            base = base[:-2] + f"{97 - (int(base[:-2]) * 100) % 97:02d}"
        number = country + iban.calc_check_digits(country + "00" + base) + base
        if iban.is_valid(number):
            return number


def _be_bban(rng: random.Random) -> str:
    head = rng.randrange(10**10)
    check = head % 97 or 97
    return f"{head:010d}{check:02d}"


def make_card(rng: random.Random, prefix: str = "4", length: int = 16) -> str:
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    return body + luhn.calc_check_digit(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--count", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for _ in range(args.count):
        print("bsn ", make_bsn(rng))
    for country in ("NL", "BE", "DE", "FR", "GB"):
        for _ in range(args.count):
            print("iban", make_iban(rng, country))
    for prefix, length in (("4", 16), ("51", 16), ("37", 15), ("6703", 19)):
        for _ in range(args.count):
            print("card", make_card(rng, prefix, length))


if __name__ == "__main__":
    main()
