"""Plugs the accumulator into the slot loop (``signage.loop.PlayObserver``)."""

from __future__ import annotations

import logging

from signage.domain import STANDBY_ID, AudienceSnapshot, Play, PlayOutcome
from signage.impressions.metrics import DEFAULT_VIEWER_THRESHOLD_S, ImpressionAccumulator, SnapshotWindow
from signage.impressions.sink import ImpressionSink

log = logging.getLogger(__name__)


class ImpressionObserver:
    """Keeps the last seconds of audience, opens an accumulator per play and stores its impression.

    The snapshot handed to ``play_started`` marks the start of the play: samples before it are the
    "just before" window, it and later samples are the play.
    """

    def __init__(
        self,
        sink: ImpressionSink,
        threshold_s: float = DEFAULT_VIEWER_THRESHOLD_S,
        before_window_s: float = 5.0,
    ) -> None:
        self.sink = sink
        self.threshold_s = threshold_s
        self._window = SnapshotWindow(before_window_s)
        self._open: ImpressionAccumulator | None = None
        self._play_id: str | None = None

    def play_started(self, play: Play, audience: AudienceSnapshot) -> None:
        self._open = None
        if play.ad_id == STANDBY_ID:
            return
        acc = ImpressionAccumulator(play.play_id, self.threshold_s, started_mono=audience.at_mono)
        acc.observe_all(s for s in self._window.snapshots() if s.at_mono < audience.at_mono)
        acc.observe(audience)
        self._open, self._play_id = acc, play.play_id
        self._window.add(audience)

    def audience_sample(self, audience: AudienceSnapshot) -> None:
        self._window.add(audience)
        if self._open is not None:
            self._open.observe(audience)

    def play_ended(self, play: Play, audience: AudienceSnapshot) -> None:
        acc, self._open = self._open, None
        if acc is None or self._play_id != play.play_id:
            return
        if play.outcome is PlayOutcome.SKIPPED:
            return  # the ad never reached the screen: nobody had a chance to see it
        acc.observe(audience)
        self._window.add(audience)
        recorded_at = play.ended_at or play.started_at
        self.sink.record(acc.finish(), play.screen_id, recorded_at)
