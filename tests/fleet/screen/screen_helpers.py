"""A slot loop on fakes with the fleet override: fake clock, player, store, directives and power."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from signage.clock import FakeClock
from signage.domain import Ad, AudienceSnapshot, Catalog, MediaKind, Play, PlayOutcome, Track
from signage.fleet.directives import FakeDirectives, FleetDirectives
from signage.fleet.override import Override
from signage.fleet.power import FakePower, PowerEvent
from signage.fleet.protocol import Alert, OpeningSpan, StoreHours
from signage.loop import LoopConfig, PlayObserver, SlotLoop
from signage.playback.fake import FakePlayer
from signage.settings import PolicySettings
from signage.store.fake import FakePlaySink
from signage.targeting.programme import Programme

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Paris


class PowerLog:
    """A ``PowerEventSink`` that keeps the events in memory."""

    def __init__(self) -> None:
        self.events: list[PowerEvent] = []

    def write_power_event(self, event: PowerEvent) -> None:
        self.events.append(event)


class Counting:
    """A ``PlayObserver`` that counts what it is told (plays seen, audience samples, known ones)."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.samples = 0
        self.known_samples = 0

    def play_started(self, play: Play, audience: AudienceSnapshot) -> None:
        self.started.append(play.ad_id)

    def audience_sample(self, audience: AudienceSnapshot) -> None:
        self.samples += 1
        self.known_samples += audience.known

    def play_ended(self, play: Play, audience: AudienceSnapshot) -> None:
        pass


def make_ad(tmp_path: Path, ad_id: str, duration_s: float = 5.0) -> Ad:
    media = tmp_path / f"{ad_id}.mp4"
    media.write_bytes(b"x")
    return Ad(ad_id, media, MediaKind.VIDEO, duration_s, f"adv-{ad_id}", f"camp-{ad_id}")


def adult() -> AudienceSnapshot:
    person = Track(1, 0.0, 1.0, 1.0, 1.0, True, age_years=40, age_std_years=3, p_female=0.2)
    return AudienceSnapshot(at_mono=0.0, known=True, tracks=(person,))


def alert(
    alert_id: str = "fire", *, minutes: float | None = None, at: datetime = START, **kw: object
) -> Alert:
    until = None if minutes is None else at + timedelta(minutes=minutes)
    return Alert(alert_id, "all", "Please leave the store now", at, until, **kw)  # type: ignore[arg-type]


def daily(opens: str, closes: str, tz: str = "Europe/Paris", **kw: object) -> StoreHours:
    span = (OpeningSpan(time.fromisoformat(opens), time.fromisoformat(closes)),)
    return StoreHours(tz, tuple(span for _ in range(7)), **kw)  # type: ignore[arg-type]


class Rig:
    def __init__(
        self,
        tmp_path: Path,
        directives: FleetDirectives | None = None,
        *,
        clock: FakeClock | None = None,
        sink: FakePlaySink | None = None,
        audience: Callable[[], AudienceSnapshot] = adult,
    ) -> None:
        self.clock = clock or FakeClock(start_utc=START)
        self.player = FakePlayer(self.clock.monotonic)
        self.sink = sink or FakePlaySink()
        self.directives = directives if directives is not None else FakeDirectives()
        self.power = FakePower()
        self.power_log = PowerLog()
        self.override = Override(self.directives, "s1", self.power, self.power_log)
        self.counting = Counting()
        ads = (make_ad(tmp_path, "a"), make_ad(tmp_path, "b"))
        programme = Programme(Catalog(ads), PolicySettings(), ZoneInfo("UTC"), random.Random(5))
        observers: list[PlayObserver] = [self.counting]
        self.loop = SlotLoop(
            LoopConfig(screen_id="s1", lead_s=1.0, standby_slot_s=4.0, screenshots=Path("/shots")),
            self.player, self.sink, audience, programme.decide, self.clock, observers,
            override=self.override,
        )  # fmt: skip

    def run_for(self, seconds: float, tick: float = 0.05) -> None:
        end = self.clock.monotonic() + seconds
        while self.clock.monotonic() < end:
            self.loop.step()
            self.clock.advance(tick)

    def plays(self, outcome: PlayOutcome | None = None) -> list[Play]:
        plays = sorted(self.sink.plays.values(), key=lambda p: p.started_at)
        return [p for p in plays if outcome is None or p.outcome is outcome]

    def on_screen(self) -> str:
        return self.player.shown[-1]
