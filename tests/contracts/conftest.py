"""The contract tests run every case against each implementation of an edge: the fake and the real one."""

from __future__ import annotations

import os

# Before pygame is imported anywhere: the real player runs headless, without a sound card.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
