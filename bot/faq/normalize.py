"""Citizen chat language -> text that matches FAQ wording.

The same normalisation runs on FAQ texts and on messages, so it can only add
recall: abbreviations are written out (``wnr`` -> ``wanneer``) and a
municipal synonym brings its canonical word along (``kliko`` -> ``kliko
container``). The lexicon is generic Dutch and lives in lexicon.yml.
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
MAX_PHRASE = 3


@dataclass(frozen=True)
class Lexicon:
    replace: dict[str, str]
    synonyms: dict[str, str]

    @classmethod
    def from_file(cls, path: Path = LEXICON) -> "Lexicon":
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        lower = lambda table: {str(k).lower(): str(v).lower() for k, v in (table or {}).items()}
        return cls(lower(data.get("replace")), lower(data.get("synonyms")))


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    return Lexicon.from_file()


def tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    return TOKEN.findall(text)


def _longest_match(words: list[str], start: int, table: dict[str, str]) -> tuple[int, str | None]:
    for size in range(min(MAX_PHRASE, len(words) - start), 0, -1):
        phrase = " ".join(words[start:start + size])
        if phrase in table:
            return size, table[phrase]
    return 1, None


def normalize(text: str, lexicon: Lexicon | None = None) -> str:
    """Lowercased words with abbreviations written out and synonyms added."""
    lexicon = lexicon or default_lexicon()
    words = _replace(tokens(text), lexicon.replace)
    out, added, i = [], set(), 0
    while i < len(words):
        size, canonical = _longest_match(words, i, lexicon.synonyms)
        out += words[i:i + size]
        if canonical and canonical not in added:
            added.add(canonical)
            out.append(canonical)
        i += size
    return " ".join(out)


def _replace(words: list[str], table: dict[str, str]) -> list[str]:
    out, i = [], 0
    while i < len(words):
        size, written = _longest_match(words, i, table)
        out += written.split() if written else words[i:i + size]
        i += size
    return out
