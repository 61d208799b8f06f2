"""A FAQ index that follows its folder: edits are live without retraining Rasa.

A watcher thread fingerprints the folder every few seconds. A changed folder
is validated and re-indexed in the background; only a clean folder replaces
the index that is serving. A broken file is logged with its path and line and
the last good index keeps answering.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

from bot.faq.content import check_folder, faq_files
from bot.faq.encoders import Encoder
from bot.faq.index import FaqIndex, VectorCache, Weights

log = logging.getLogger(__name__)


def folder_fingerprint(folder: Path) -> str:
    """Changes whenever a file under the folder is added, removed or edited."""
    digest = hashlib.sha256()
    for path in faq_files(folder):
        try:
            stat = path.stat()
        except OSError:
            continue
        digest.update(f"{path}:{stat.st_mtime_ns}:{stat.st_size};".encode())
    return digest.hexdigest()


class LiveFaqIndex:
    """Holds the current good index and swaps in a new one when the folder changes."""

    def __init__(self, folder: Path, encoder: Encoder, cache_dir: Path | None,
                 weights: Weights = Weights(), interval_s: float = 2.0) -> None:
        self.folder = Path(folder)
        self._cache = VectorCache(cache_dir, encoder)
        self._encoder = encoder
        self._weights = weights
        self._interval = interval_s
        self._stop = threading.Event()
        self._fingerprint = ""
        self.index: FaqIndex | None = None
        self.problems: list = []
        self.reload()

    def reload(self) -> bool:
        """Validate and re-index now; True when a new index is serving."""
        fingerprint = folder_fingerprint(self.folder)
        entries, problems = check_folder(self.folder)
        self._fingerprint = fingerprint
        self.problems = problems
        if problems:
            for problem in problems:
                log.error("FAQ not reloaded: %s", problem)
            if self.index is not None:
                log.error("still serving the last good FAQ index (%d entries)", len(self.index))
            return False
        self.index = FaqIndex.build(entries, self._encoder, self._cache, self._weights)
        log.info("FAQ index ready: %d entries from %s", len(entries), self.folder)
        return True

    def start(self) -> None:
        threading.Thread(target=self._watch, name="faq-watcher", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if folder_fingerprint(self.folder) != self._fingerprint:
                    self.reload()
            except Exception:  # the watcher must outlive any one bad reload
                log.exception("FAQ reload failed; keeping the current index")
