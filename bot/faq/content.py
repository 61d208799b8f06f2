"""Loading and validating FAQ files (format: ../shared/CONTRACTS.md §1).

Validation reports every problem with its file and line, so an editor can
fix a whole folder in one pass; loading refuses a folder with any problem.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import yaml

from bot.errors import FaqValidationError

WHATSAPP_MAX_TEXT = 4096
ID_PATTERN = re.compile(r"^[a-z0-9-]+$")
REQUIRED = ("id", "question", "answer")
OPTIONAL = ("alternatives", "link", "tags")


@dataclass(frozen=True)
class FaqEntry:
    id: str
    question: str
    answer: str
    alternatives: tuple[str, ...] = ()
    link: str | None = None
    tags: tuple[str, ...] = ()
    source: str = ""
    line: int = 0

    @property
    def reply_text(self) -> str:
        """What the citizen receives: the answer with the link under it."""
        answer = self.answer.strip()
        return f"{answer}\n\nMeer informatie: {self.link}" if self.link else answer


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def faq_files(folder: Path) -> list[Path]:
    """Every *.yml file below the folder (sub-folders too), in a stable order."""
    return sorted(p for p in Path(folder).rglob("*.yml") if p.is_file())


def check_folder(folder: Path) -> tuple[list[FaqEntry], list[Problem]]:
    """Parse and validate every file; returns the entries and all problems found."""
    folder = Path(folder)
    if not folder.is_dir():
        return [], [Problem(str(folder), 0, "FAQ folder does not exist")]
    files = faq_files(folder)
    if not files:
        return [], [Problem(str(folder), 0, "no *.yml files in the FAQ folder")]
    entries, problems = [], []
    for path in files:
        found, file_problems = check_file(path)
        entries += found
        problems += file_problems
    problems += _duplicate_ids(entries)
    return entries, problems


def load_folder(folder: Path) -> list[FaqEntry]:
    """The entries of a folder that validates cleanly; else FaqValidationError."""
    entries, problems = check_folder(folder)
    if problems:
        raise FaqValidationError(problems)
    return entries


def check_file(path: Path) -> tuple[list[FaqEntry], list[Problem]]:
    name = str(path)
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        return [], [Problem(name, line, f"invalid YAML: {exc.problem or exc}")]
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return [], [Problem(name, 0, f"cannot read file: {exc}")]
    if root is None:
        return [], [Problem(name, 1, "file is empty; expected a list of entries")]
    if not isinstance(root, yaml.SequenceNode):
        return [], [Problem(name, _line(root), "expected a list of entries (each starting with '- id:')")]
    entries, problems = [], []
    for node in root.value:
        entry, entry_problems = _check_entry(name, node)
        problems += entry_problems
        if entry is not None:
            entries.append(entry)
    return entries, problems


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _check_entry(name: str, node: yaml.Node) -> tuple[FaqEntry | None, list[Problem]]:
    if not isinstance(node, yaml.MappingNode):
        return None, [Problem(name, _line(node), "entry is not a mapping of fields")]
    fields, problems = {}, []
    for key_node, value_node in node.value:
        key = key_node.value
        if key not in REQUIRED + OPTIONAL:
            hint = f"; allowed: {', '.join(REQUIRED + OPTIONAL)}"
            problems.append(Problem(name, _line(key_node), f"unknown key '{key}'{hint}"))
        elif key in fields:
            problems.append(Problem(name, _line(key_node), f"key '{key}' appears twice"))
        else:
            fields[key] = value_node
    for key in REQUIRED:
        if key not in fields:
            problems.append(Problem(name, _line(node), f"missing required field '{key}'"))
    values = {}
    for key, value_node in fields.items():
        value, problem = _check_field(key, value_node)
        if problem:
            problems.append(Problem(name, _line(value_node), problem))
        values[key] = value
    if problems:
        return None, problems
    entry = _entry(values, name, _line(node))
    if len(entry.reply_text) > WHATSAPP_MAX_TEXT:
        message = (f"answer with link is {len(entry.reply_text)} characters; "
                   f"WhatsApp allows {WHATSAPP_MAX_TEXT}")
        return None, [Problem(name, _line(fields["answer"]), message)]
    return entry, []


def _scalar_text(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith((":str", ":int", ":float")):
        return node.value.strip()
    return None


def _text_list(node: yaml.Node) -> list[str] | None:
    if not isinstance(node, yaml.SequenceNode):
        return None
    items = [_scalar_text(item) for item in node.value]
    return None if any(not item for item in items) else items


def _check_field(key: str, node: yaml.Node):
    """(value, problem message or None) for one field."""
    if key in ("alternatives", "tags"):
        items = _text_list(node)
        return (items, None) if items is not None else (None, f"'{key}' must be a list of non-empty texts")
    text = _scalar_text(node)
    if not text:
        return None, f"'{key}' is empty" if text == "" else f"'{key}' must be text"
    if key == "id" and not ID_PATTERN.match(text):
        return None, f"id '{text}' may only contain a-z, 0-9 and '-'"
    if key == "link" and not _valid_link(text):
        return None, f"link '{text}' is not a valid http(s) URL"
    return text, None


def _valid_link(text: str) -> bool:
    parsed = urlparse(text)
    return parsed.scheme in ("http", "https") and "." in parsed.netloc and not re.search(r"\s", text)


def _entry(values: dict, source: str, line: int) -> FaqEntry:
    return FaqEntry(
        id=values["id"], question=values["question"], answer=values["answer"],
        alternatives=tuple(values.get("alternatives") or ()), link=values.get("link"),
        tags=tuple(values.get("tags") or ()), source=source, line=line,
    )


def _duplicate_ids(entries: list[FaqEntry]) -> list[Problem]:
    first_seen: dict[str, FaqEntry] = {}
    problems = []
    for entry in entries:
        earlier = first_seen.setdefault(entry.id, entry)
        if earlier is not entry:
            where = f"{earlier.source}:{earlier.line}"
            problems.append(Problem(entry.source, entry.line, f"duplicate id '{entry.id}' (also at {where})"))
    return problems
