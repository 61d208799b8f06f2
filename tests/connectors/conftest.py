"""Fixtures for the WhatsApp channel's tests (the session-wide stack is in tests/conftest.py)."""
from __future__ import annotations

import sys
from pathlib import Path

# tests/helpers is shared with the benchmarks; make it importable as ``helpers``.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
