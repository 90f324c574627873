"""Decision latency with 1,000 rules and 10,000 ads, and the time to load a 1,000-rule file.

    .venv/bin/python bench/decide.py [--rules 1000] [--ads 10000] [--seed 1]

Prints figures, asserts nothing. Baselines measured in the same run:
- load: parsing the same YAML with libyaml alone (no locations, no validation, no compilation);
- decide: the house rotation alone over the same catalog (what the player did before rules).
The day replays one decision every 10 s from 06:00 to 22:00 store time with audiences drawn from a
fixed pool, appending each play to a PlayHistory, the way the player's loop does.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from signage.domain import Ad, AgeBand, Catalog, MediaKind, PlayRecord
from signage.settings import PolicySettings
from signage.targeting.decide import explain, index_for
from signage.targeting.history import PlayHistory
from signage.targeting.loader import build_ruleset, parse_rule_text
from signage.targeting.rotation import house_rotation
from signage.targeting.simulate import parse_audience

TZ = ZoneInfo("Europe/Paris")
SUBJECTS = ["food", "drinks", "alcohol", "beauty", "fashion", "sports", "electronics", "automotive", "travel",
            "finance", "kids", "home", "health", "pets"]  # fmt: skip
DAYPARTS = {
    "early": "06:00-08:00",
    "breakfast": "07:00-10:30",
    "morning": "09:00-12:00",
    "lunch": "11:30-14:30",
    "afternoon": "14:00-17:00",
    "after-work": "17:00-20:00",
    "evening": "19:00-22:00",
    "late": "21:30-01:00",
}
ADULT_BANDS = [b.value for b in AgeBand if not b.is_minor]


def make_catalog(n: int, rng: random.Random) -> Catalog:
    ads = []
    for i in range(n):
        subjects = tuple(rng.sample(SUBJECTS, rng.choice([1, 1, 2])))
        start = date(2026, rng.randint(1, 11), 1) if rng.random() < 0.2 else None
        end = date(2026, 12, rng.randint(1, 31)) if rng.random() < 0.2 else None
        ads.append(
            Ad(
                ad_id=f"ad-{i:05d}",
                media=Path(f"media/ad-{i:05d}.mp4"),
                kind=MediaKind.VIDEO,
                duration_s=rng.choice([6.0, 8.0, 10.0, 15.0, 20.0]),
                advertiser=f"advertiser-{i // 100}",
                campaign=f"campaign-{i // 20:03d}",
                subjects=subjects,
                restricted=rng.random() < 0.02,
                weight=rng.choice([0.5, 1.0, 1.0, 2.0]),
                valid_from=start,
                valid_until=end,
            )
        )
    return Catalog(ads=tuple(ads))


def make_rules(n: int, n_ads: int, rng: random.Random) -> str:
    campaigns = n_ads // 20
    rules = []
    for i in range(n):
        rule: dict[str, object] = {
            "id": f"rule-{i:04d}",
            "tier": rng.choice([0, 1, 2, 5, 10, 10, 20, 30, 50]),
        }
        if rng.random() < 0.3:
            rule["weight"] = rng.choice([0.5, 2, 3])
        kind = rng.random()
        if kind < 0.4:
            rule["play"] = {
                "campaigns": [f"campaign-{rng.randrange(campaigns):03d}" for _ in range(rng.randint(1, 3))]
            }
        elif kind < 0.8:
            rule["play"] = {"ads": [f"ad-{rng.randrange(n_ads):05d}" for _ in range(rng.randint(1, 5))]}
        else:
            rule["play"] = {"subjects": [rng.choice(SUBJECTS)]}
        audience: dict[str, object] = {}
        if rng.random() < 0.6:
            audience["age"] = sorted(rng.sample(ADULT_BANDS, rng.randint(1, 3)))
        if rng.random() < 0.4:
            audience["gender"] = rng.choice(["female", "male"])
        if rng.random() < 0.15:
            audience["emotion"] = rng.sample(["happy", "neutral", "surprise", "sad"], 2)
        if rng.random() < 0.1:
            audience["group"] = rng.choice(["solo", "couple", "adult-with-child", "crowd"])
        if rng.random() < 0.1:
            audience["present"] = {"min": rng.randint(1, 3)}
        if audience:
            rule["audience"] = audience
        if rng.random() < 0.5:
            rule["dayparts"] = rng.sample(sorted(DAYPARTS), rng.randint(1, 2))
        if rng.random() < 0.3:
            rule["days"] = [rng.choice(["weekdays", "weekend", "fri", "sat", "mon", "thu"])]
        if rng.random() < 0.1:
            rule["dates"] = [
                {"from": date(2026, 11, rng.randint(1, 20)), "until": date(2026, 12, rng.randint(1, 31))}
            ]
        if rng.random() < 0.3:
            rule["caps"] = {
                "ad": {"per_hour": rng.randint(2, 6)},
                "campaign": {"per_day": rng.randint(20, 80)},
            }
        if rng.random() < 0.2:
            rule["min_gap_s"] = rng.choice([120, 300, 900])
        rules.append(rule)
    doc = {
        "dayparts": DAYPARTS,
        "defaults": {"min_confidence": 0.6, "min_gap_s": 60},
        "caps": {
            "every_ad": {"per_hour": 6},
            "campaigns": {
                f"campaign-{c:03d}": {"per_day": rng.randint(30, 200)} for c in range(0, campaigns, 3)
            },
        },
        "rules": rules,
    }
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=200)


AUDIENCES = [
    "unknown", "nobody", "nobody", "1 woman 25-34 happy", "1 man 35-44", "2 women 18-24 happy",
    "1 man 45-54 neutral, 1 woman 45-54", "1 woman 35-44, 1 child", "1 man 65+", "3 people",
    "1 woman 55-64 sad", "2 men 25-34 surprise, 1 teen", "1 person 30", "1 man 25-34 passing",
]  # fmt: skip


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_load(text: str, repeats: int, clock: Callable[[], float]) -> tuple[float, float]:
    loads, parses = [], []
    for _ in range(repeats):
        t0 = clock()
        build_ruleset([parse_rule_text(text, "bench.yaml")], TZ)
        loads.append(clock() - t0)
        t0 = clock()
        yaml.load(text, Loader=yaml.CSafeLoader)
        parses.append(clock() - t0)
    return statistics.median(loads), statistics.median(parses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--ads", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    catalog = make_catalog(args.ads, rng)
    text = make_rules(args.rules, args.ads, rng)
    policy = PolicySettings()

    print(f"rule file: {args.rules} rules, {len(text.splitlines())} lines, {len(text) / 1024:.0f} KiB")
    # Wall time includes being preempted on a shared machine; thread CPU time does not.
    for label, clock in (("wall", time.perf_counter), ("cpu", time.thread_time)):
        load_s, parse_s = bench_load(text, args.repeats, clock)
        print(f"load+validate+compile ({label}): median {load_s * 1e3:.1f} ms over {args.repeats} runs "
              f"(libyaml parse alone {parse_s * 1e3:.1f} ms; ratio {load_s / parse_s:.1f}x)")  # fmt: skip

    rules = build_ruleset([parse_rule_text(text, "bench.yaml")], TZ)
    snapshots = [parse_audience(a) for a in AUDIENCES]
    history = PlayHistory()
    decide_rng = random.Random(args.seed)
    audience_rng = random.Random(args.seed + 1)
    now = datetime(2026, 11, 20, 6, 0, tzinfo=TZ).astimezone(ZoneInfo("UTC"))
    end = now + timedelta(hours=16)

    t0 = time.perf_counter()
    explain(snapshots[0], catalog, rules, history, now, decide_rng, policy)
    first_s = time.perf_counter() - t0

    by_path: dict[str, list[float]] = {"rule": [], "house": [], "standby": []}
    cpu: list[float] = []
    cold: list[float] = []
    index = index_for(rules, catalog, policy)
    house_only: list[float] = []
    while now < end:
        audience = audience_rng.choice(snapshots)
        cached = rules.cache_entries + index.cache_entries
        c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
        decision = explain(audience, catalog, rules, history, now, decide_rng, policy).decision
        elapsed = (time.perf_counter_ns() - t0) / 1e3
        cpu_us = (time.thread_time_ns() - c0) / 1e3
        path = (
            "standby" if decision.ad is None else ("house" if decision.rule == "house-rotation" else "rule")
        )
        if rules.cache_entries + index.cache_entries != cached:
            cold.append(cpu_us)  # it built a pool or a time segment's rule list: once per segment per day
        else:
            cpu.append(cpu_us)
            by_path[path].append(elapsed)
        if decision.ad is not None:
            history.append(PlayRecord(decision.ad.ad_id, decision.ad.campaign, now))
        if len(house_only) < 300:
            t0 = time.perf_counter_ns()
            house_rotation(catalog.ads, now.astimezone(TZ), history, random.Random(0))
            house_only.append((time.perf_counter_ns() - t0) / 1e3)
        now += timedelta(seconds=10)

    every = [x for xs in by_path.values() for x in xs]
    print(f"catalog: {args.ads} ads; first decision (builds the catalog index): {first_s * 1e3:.1f} ms")
    print(f"decisions: {len(every)} over a 16 h day, history grew to {len(history)} plays")
    print("  warm: caches already built; cold: the decision built a pool or a time segment's rule list")
    rows = (("warm wall", every), ("warm cpu", cpu), *((f"{k} wall", v) for k, v in by_path.items()))
    for name, xs in (*rows, ("cold cpu", cold)):
        if xs:
            print(f"  {name:<13} n={len(xs):>5}  median {statistics.median(xs):8.1f} us  "
                  f"p99 {pct(xs, 0.99):8.1f} us  max {max(xs):8.1f} us")  # fmt: skip
    base = statistics.median(house_only)
    print(f"baseline house_rotation over {args.ads} ads alone: median {base:.1f} us; "
          f"decide median / baseline = {statistics.median(every) / base:.2f}")  # fmt: skip

    # The loop should pass a PlayHistory; a plain list is re-indexed at every decision.
    plain = list(history)
    xs = []
    for _ in range(50):
        t0 = time.perf_counter_ns()
        explain(snapshots[3], catalog, rules, plain, now, decide_rng, policy)
        xs.append((time.perf_counter_ns() - t0) / 1e3)
    print(
        f"history as a plain list of {len(plain)} plays (re-indexed each call): median {statistics.median(xs):.0f} us"
    )


if __name__ == "__main__":
    main()
