"""The action server's long-lived FAQ index, built once at start-up."""
from __future__ import annotations

import threading

from bot.faq.decision import Thresholds
from bot.faq.encoders import make_encoder
from bot.faq.index import Weights
from bot.faq.live import LiveFaqIndex
from bot.settings import get_settings

_lock = threading.Lock()
_live: LiveFaqIndex | None = None


def live_faq() -> LiveFaqIndex:
    """The watched FAQ index; the first call loads the encoder and builds it."""
    global _live
    with _lock:
        if _live is None:
            faq = get_settings().faq
            _live = LiveFaqIndex(faq.dir, make_encoder(faq.encoder, faq.model), faq.cache_dir,
                                 Weights.from_settings(faq), faq.reload_interval_s)
            _live.start()
        return _live


def thresholds() -> Thresholds:
    return Thresholds.from_settings(get_settings().faq)
