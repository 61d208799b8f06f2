"""Citizen chat language -> text that matches FAQ wording.

The same normalisation runs on FAQ texts and on messages, so it can only add
recall: abbreviations are written out (``wnr`` -> ``wanneer``) and a
municipal synonym brings its canonical word along (``kliko`` -> ``kliko
container``). The lexicon is generic Dutch and lives in lexicon.yml.

Dutch inflects and compounds freely, so a word that is not in the lexicon is
looked up again without its plural, diminutive or adjective ending
(``vuilniszakken`` -> ``vuilniszak``) and then by its last part: Dutch
compounds end in the word they name (``parkeerboete`` is a ``boete``).
Common misspellings are listed in the lexicon itself: a general
edit-distance speller "corrected" real words (sloep -> stoep) and cost
accuracy on both evaluation sets.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

LEXICON = Path(__file__).with_name("lexicon.yml")
TOKEN = re.compile(r"[a-z0-9\u00e0-\u00ff]+(?:['.-][a-z0-9\u00e0-\u00ff]+)*|'[a-z]+")
MAX_PHRASE = 4
# Compound heads shorter than this are too often the tail of an unrelated
# word ("verkopen" ends in "open").
MIN_HEAD = 5
MIN_MODIFIER = 3
# Endings of plurals, diminutives and inflected adjectives, longest first.
ENDINGS = ("etjes", "tjes", "pjes", "etje", "jes", "tje", "pje", "je", "en", "'s", "s", "e")
VOWELS = set("aeiou")


@dataclass(frozen=True)
class Lexicon:
    replace: dict[str, str]
    synonyms: dict[str, str]

    @classmethod
    def from_file(cls, path: Path = LEXICON) -> "Lexicon":
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls.from_data(data)

    @classmethod
    def from_data(cls, data: dict) -> "Lexicon":
        # Keys are folded like message words, so "logés" matches "loges".
        fold = lambda text: " ".join(tokens(str(text)))
        lower = lambda table: {fold(k): fold(v) for k, v in (table or {}).items()}
        synonyms = {}
        for canonical, variants in (data.get("concepts") or {}).items():
            canonical = fold(canonical)
            if " " not in canonical:
                synonyms[canonical] = canonical   # inflected forms find their lemma
            for variant in variants or []:
                synonyms.setdefault(fold(variant), canonical)
        synonyms.update(lower(data.get("synonyms")))
        return cls(lower(data.get("replace")), synonyms)


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    return Lexicon.from_file()


def tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", text.lower().replace("\u2019", "'"))
    text = "".join(char for char in text if not unicodedata.combining(char))   # café -> cafe
    return TOKEN.findall(text)


def stems(word: str, *, short: bool = False) -> list[str]:
    """Likely lemmas of a Dutch word form: bakken -> bak, straten -> straat.

    ``short`` also respells three-letter stems: mak(en) -> maak. The lexicon
    and BM25 leave it off: there it changed the ranking (top-1 −0.007 on the
    tune halves); the keyword check (index.EditorWording) turns it on."""
    out = []
    for ending in ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            stem = word[:-len(ending)]
            out.append(stem)
            if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in VOWELS:
                out.append(stem[:-1])                          # bakk(en) -> bak
            if len(stem) >= (3 if short else 4) and stem[-2] in VOWELS and stem[-3] not in VOWELS \
                    and stem[-1] not in VOWELS:
                out.append(stem[:-1] + stem[-2] + stem[-1])    # strat(en) -> straat
            if stem.endswith("z"):
                out.append(stem[:-1] + "s")                    # huiz(en) -> huis
            if stem.endswith("v"):
                out.append(stem[:-1] + "f")                    # brieven -> brief
    return out


def lookup(word: str, table: dict[str, str]) -> str | None:
    """The table's value for a word, its lemma or its compound head."""
    if word in table:
        return table[word]
    forms = [word, *stems(word)]
    for form in forms[1:]:
        if form in table:
            return table[form]
    for form in forms:
        for start in range(MIN_MODIFIER, len(form) - MIN_HEAD + 1):
            head = form[start:]
            if head in table:
                return table[head]
    return None


def _match(words: list[str], start: int, table: dict[str, str],
           inflect: bool) -> tuple[int, str | None]:
    for size in range(min(MAX_PHRASE, len(words) - start), 1, -1):
        phrase = " ".join(words[start:start + size])
        if phrase in table:
            return size, table[phrase]
    found = lookup(words[start], table) if inflect else table.get(words[start])
    return 1, found


def normalize(text: str, lexicon: Lexicon | None = None) -> str:
    """Lowercased words with abbreviations written out and synonyms added."""
    lexicon = lexicon or default_lexicon()
    words = _replace(tokens(text), lexicon.replace)
    out, added, i = [], set(), 0
    while i < len(words):
        size, canonical = _match(words, i, lexicon.synonyms, inflect=True)
        out += words[i:i + size]
        if canonical and canonical not in added and canonical not in words[i:i + size]:
            added.add(canonical)
            out.append(canonical)
        i += size
    return " ".join(out)


def _replace(words: list[str], table: dict[str, str]) -> list[str]:
    out, i = [], 0
    while i < len(words):
        size, written = _match(words, i, table, inflect=False)
        out += written.split() if written else words[i:i + size]
        i += size
    return out

