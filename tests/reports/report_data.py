"""A generated play + impression database whose true figures the tests compute independently."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import SQLModel

from signage.impressions.tables import COMPOSITION_COLUMNS, IMPRESSION
from signage.store.models import PLAY

ADS = {  # ad_id: (advertiser, campaign, cost_per_play)
    "cola-a": ("acme", "summer", 0.5),
    "cola-b": ("acme", "summer", 0.25),
    "chips": ("acme", "snacks", None),
    "shoes": ("bolt", "run", 1.0),
}
SCREENS = ("s1", "s2")


@dataclass
class GeneratedPlay:
    play_id: uuid.UUID
    ad_id: str
    screen_id: str
    started_at: datetime
    outcome: str
    impression: dict[str, object] | None

    @property
    def advertiser(self) -> str:
        return ADS[self.ad_id][0]

    @property
    def campaign(self) -> str:
        return ADS[self.ad_id][1]


@dataclass
class GeneratedDb:
    engine: sa.Engine
    plays: list[GeneratedPlay] = field(default_factory=list)

    def counted(self) -> list[GeneratedPlay]:
        return [p for p in self.plays if p.outcome in ("completed", "interrupted")]


def _impression(rng: random.Random) -> dict[str, object]:
    ots = rng.randint(0, 6)
    viewers = rng.randint(0, ots)
    comp = dict.fromkeys((name for _, _, name in COMPOSITION_COLUMNS), 0)
    for _ in range(viewers):
        if rng.random() < 0.8:  # some viewers are never classified
            comp[rng.choice(COMPOSITION_COLUMNS)[2]] += 1
    viewer_att = round(viewers * rng.uniform(1, 6), 3)
    classified_before = rng.randint(0, 4)
    classified_during = rng.randint(0, ots)
    return {
        "threshold_s": 1.0,
        "audience_known": True,
        "ots": ots,
        "viewers": viewers,
        "attention_s": viewer_att + round((ots - viewers) * rng.uniform(0, 0.9), 3),
        "viewer_attention_s": viewer_att,
        "dwell_s": round(ots * rng.uniform(1, 15), 3),
        "possible_minors": rng.randint(0, ots),
        "happy_before": rng.randint(0, classified_before),
        "classified_before": classified_before,
        "happy_during": rng.randint(0, classified_during),
        "classified_during": classified_during,
        **comp,
    }


def generate(engine: sa.Engine, n: int = 400, seed: int = 7) -> GeneratedDb:
    rng = random.Random(seed)
    db = GeneratedDb(engine)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for _ in range(n):
        ad_id = rng.choice(list(ADS))
        outcome = rng.choices(["completed", "interrupted", "skipped"], [8, 1, 1])[0]
        roll = rng.random()
        impression = None if roll < 0.1 else _impression(rng)
        if impression is not None and roll < 0.2:  # camera offline: audience unknown
            impression = {**{k: 0 for k in impression}, "threshold_s": 1.0, "audience_known": False}
        db.plays.append(
            GeneratedPlay(
                play_id=uuid.UUID(int=rng.getrandbits(128)),
                ad_id=ad_id,
                screen_id=rng.choice(SCREENS),
                started_at=start + timedelta(seconds=rng.randint(0, 14 * 86400)),
                outcome=outcome,
                impression=impression,
            )
        )
    with engine.begin() as conn:
        conn.execute(
            PLAY.insert(),
            [
                {
                    "play_id": p.play_id,
                    "screen_id": p.screen_id,
                    "ad_id": p.ad_id,
                    "advertiser": p.advertiser,
                    "campaign": p.campaign,
                    "started_at": p.started_at,
                    "ended_at": p.started_at + timedelta(seconds=15),
                    "planned_s": 15.0,
                    "actual_s": 15.0,
                    "outcome": p.outcome,
                }
                for p in db.plays
            ],
        )
        rows = [
            {"play_id": p.play_id, "screen_id": p.screen_id, "recorded_at": p.started_at, **p.impression}
            for p in db.plays
            if p.impression is not None
        ]
        conn.execute(IMPRESSION.insert(), rows)
    return db


def new_engine(path: Path) -> sa.Engine:
    import signage.impressions.tables  # noqa: F401  (registers the tables)

    engine = sa.create_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    return engine
