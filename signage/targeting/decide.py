"""``decide``: which ad plays next. Pure: the clock, the history and the randomness come in.

Precedence (rules/README.md says the same in the marketer's words):

1. Only rules whose days, dates and time windows include the store-local moment and whose audience
   spec the audience satisfies are considered.
2. The highest tier with an eligible ad wins. Within it a rule is drawn by weight, then one of its
   ads by the ad's catalog weight. An ad is eligible when it is valid that day, not restricted
   while a minor may be present (or the audience is unknown), under every cap that applies
   (table-wide and the rule's own), and not within the minimum gap since it last played.
3. When no rule has an eligible ad, the house rotation plays among the fallback pool (table-wide
   caps and gap still apply; the gap is relaxed before the screen goes to standby).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from signage.domain import Ad, AudienceSnapshot, Catalog, Decision, PlayRecord
from signage.settings import PolicySettings
from signage.targeting.audience import AudienceView, describe_spec
from signage.targeting.blocks import BlockCache, Instants, gap_reason, over
from signage.targeting.history import PlayHistory
from signage.targeting.index import CatalogIndex, Pool, TierPools
from signage.targeting.model import Limits
from signage.targeting.rotation import STANDBY_RULE, house_rotation
from signage.targeting.ruleset import CompiledRule, RuleSet

_HOUR = timedelta(hours=1)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Explanation:
    """A decision plus what the simulator reports: the tier and the caps or gaps that bound."""

    decision: Decision
    tier: int | None
    bound: tuple[str, ...] = ()


def index_for(rules: RuleSet, catalog: Catalog, policy: PolicySettings) -> CatalogIndex:
    """The catalog index for this rule set, rebuilt only when the catalog or the policy changes."""
    cached = rules._index_cache
    if (
        isinstance(cached, CatalogIndex)
        and cached.catalog is catalog
        and cached.restricted_subjects == policy.restricted_subjects
    ):
        return cached
    index = CatalogIndex(catalog, policy.restricted_subjects)
    rules._index_cache = index
    return index


@dataclass
class _Context:
    rules: RuleSet
    index: CatalogIndex
    history: PlayHistory
    at: Instants
    local: datetime
    allow_restricted: bool
    cache: BlockCache | None = None  # None: plays after ``now`` in the history; judge afresh
    bound: list[str] = field(default_factory=list)
    memo: dict[tuple[str, int], str | None] = field(default_factory=dict)
    campaign_memo: dict[tuple[str, int], tuple[str | None, datetime | None]] = field(default_factory=dict)

    @property
    def now(self) -> datetime:
        return self.at.now

    @property
    def day(self) -> date:
        return self.at.day

    def blocked(self, ad: Ad, rule: CompiledRule | None) -> str | None:
        """Why ``ad`` may not play now under ``rule`` (None: the house), or None when it may."""
        # The runner-up search and rules sharing ads ask again about the same pair: memoise.
        key = (ad.ad_id, id(rule))
        if key in self.memo:
            return self.memo[key]
        if self.cache is not None:
            why = self.cache.verdict(self, ad, rule)
        else:
            why = self.gap_block(ad, rule) or self.cap_block(ad, rule)[0]
        self.memo[key] = why
        return why

    def gap_of(self, rule: CompiledRule | None) -> float:
        return self.rules.default_min_gap_s if rule is None else rule.min_gap_s

    def gap_block(self, ad: Ad, rule: CompiledRule | None) -> str | None:
        gap = self.gap_of(rule)
        if gap > 0:
            last = self.history.last_play_of(ad.ad_id, self.now)
            if last is not None:
                return gap_reason(ad.ad_id, self.now, last, gap)
        return None

    def cap_block(self, ad: Ad, rule: CompiledRule | None) -> tuple[str | None, datetime | None]:
        """(why a cap excludes ``ad``, when that cap lets go: None for "not today"); (None, None): none does."""
        caps = self.rules.caps
        rule_caps = rule.caps if rule is not None else None
        # A capped campaign blocks all its ads: answer once per campaign and decision.
        key = (ad.campaign, id(rule_caps))
        hit = self.campaign_memo.get(key)
        if hit is None:
            limits = (
                caps.every_campaign,
                caps.campaigns.get(ad.campaign),
                rule_caps.campaign if rule_caps else None,
            )
            hit = self.campaign_memo[key] = self._over("campaign", ad.campaign, limits)
        if hit[0]:
            return hit
        limits = (caps.every_ad, caps.ads.get(ad.ad_id), rule_caps.ad if rule_caps else None)
        return self._over("ad", ad.ad_id, limits)

    def _over(
        self, kind: str, key: str, limits: tuple[Limits | None, ...]
    ) -> tuple[str | None, datetime | None]:
        count = self.history.ad_plays if kind == "ad" else self.history.campaign_plays
        return over(kind, key, limits, count, self.history, self.at)

    def eligible(self, rule: CompiledRule | None, exclude: str | None) -> Callable[[Ad], bool]:
        def ok(ad: Ad) -> bool:
            if ad.ad_id == exclude:
                return False
            why = self.blocked(ad, rule)
            if why is not None:
                self.bound.append(why)
            return why is None

        return ok


def _context(
    rules: RuleSet,
    catalog: Catalog,
    history: Sequence[PlayRecord],
    now: datetime,
    audience: AudienceSnapshot,
    policy: PolicySettings,
) -> _Context:
    if now.tzinfo is None:
        raise ValueError("decide needs a timezone-aware 'now'")
    local = now.astimezone(rules.tz)
    midnight = datetime.combine(local.date(), time(0), tzinfo=rules.tz)
    index = index_for(rules, catalog, policy)
    plays = PlayHistory.of(history)
    return _Context(
        rules=rules,
        index=index,
        history=plays,
        at=Instants(now, now - _HOUR, midnight - _TICK, local.date()),
        local=local,
        allow_restricted=not audience.possible_minor_present,
        cache=index.blocks if index.blocks.usable(plays, now) else None,
    )


def _pick_in_tier(
    ctx: _Context, view: AudienceView, tier: TierPools, rng: random.Random, exclude: str | None
) -> tuple[CompiledRule, Pool, Ad] | None:
    """Draw a rule by weight among those the audience matches, then an eligible ad from it.

    Rejection sampling over the tier: a drawn rule whose audience is absent, or whose ads are
    all capped, is set aside and the draw repeats. That is exactly the weighted choice among the
    rules that can play, while checking the audience of only the few rules actually drawn.
    """
    entries, cumulative = tier.entries, tier.cumulative
    if not entries:
        return None
    total = cumulative[-1]
    rejected: set[int] = set()
    misses = 0
    while len(rejected) < len(entries):
        if misses < 8:
            i = min(bisect.bisect_right(cumulative, rng.random() * total), len(entries) - 1)
            if i in rejected:
                misses += 1
                continue
        else:  # most of the tier is set aside: draw among the rest directly
            rest = [j for j in range(len(entries)) if j not in rejected]
            i = rng.choices(rest, weights=[entries[j][0].weight for j in rest], k=1)[0]
        rule, pool = entries[i]
        if view.matches(rule.audience, rule.min_confidence):
            ad = pool.draw(rng, ctx.eligible(rule, exclude))
            if ad is not None:
                return rule, pool, ad
        rejected.add(i)
    return None


def _rule_reason(rule: CompiledRule, ad: Ad, ctx: _Context, tier: TierPools, pool: Pool) -> str:
    when = []
    if rule.weekdays is not None:
        names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        when.append("/".join(names[d] for d in sorted(rule.weekdays)))
    if rule.window_labels:
        when.append(" or ".join(rule.window_labels))
    when_text = f" at {ctx.local:%a %H:%M} ({'; '.join(when)})" if when else ""
    return (
        f"rule {rule.rule_id!r} (tier {rule.tier}, weight {rule.weight:g}; {len(tier.entries)} rule(s) "
        f"of this tier on now) fired for {describe_spec(rule.audience, rule.min_confidence)}"
        f"{when_text}; drew {ad.ad_id!r} (campaign {ad.campaign!r}) from {len(pool.ads)} ad(s)"
    )


def _zero(limits: Limits | None) -> bool:
    return limits is not None and (limits.per_hour == 0 or limits.per_day == 0)


def _house_pools(ctx: _Context) -> list[Pool]:
    """The fallback pool first (when one is set), then the whole catalog."""
    spec = ctx.rules.fallback
    pools = []
    if spec.ads or spec.campaigns or spec.subjects:
        pools.append(ctx.index.pool(spec, ctx.day, ctx.allow_restricted))
    pools.append(ctx.index.pool(None, ctx.day, ctx.allow_restricted))
    return pools


def _house_blocks(ctx: _Context) -> tuple[set[str], set[str], set[str]]:
    """(blocked ads, of which only by the gap, capped campaigns) for the house rotation.

    Only what a cap names, or what played within a cap's or the gap's window, can be blocked, so
    this looks at those and never scans the catalog or the whole day's history.
    """
    caps = ctx.rules.caps
    ads, campaigns = set(caps.ads), set(caps.campaigns)
    if caps.every_ad or caps.every_campaign:
        per_day = any(
            lim is not None and lim.per_day is not None for lim in (caps.every_ad, caps.every_campaign)
        )
        recent = ctx.history.ads_played_since(ctx.at.day_start if per_day else ctx.at.hour_ago)
        if caps.every_ad:
            ads |= recent
        if caps.every_campaign:
            campaigns |= {ctx.index.by_id[a].campaign for a in recent if a in ctx.index.by_id}
    capped_campaigns: set[str] = set()
    for name in sorted(campaigns):
        limits = (caps.every_campaign, caps.campaigns.get(name))
        why = ctx._over("campaign", name, limits)[0]
        if why:
            ctx.bound.append(why)
            capped_campaigns.add(name)
    blocked: set[str] = set()
    for ad_id in sorted(ads):
        why = ctx._over("ad", ad_id, (caps.every_ad, caps.ads.get(ad_id)))[0]
        if why:
            ctx.bound.append(why)
            blocked.add(ad_id)
    gap_only: set[str] = set()
    if ctx.rules.default_min_gap_s > 0:
        since = ctx.now - timedelta(seconds=ctx.rules.default_min_gap_s)
        for ad_id in sorted(ctx.history.ads_played_since(since) - blocked):
            ad = ctx.index.by_id.get(ad_id)
            why = ctx.gap_block(ad, None) if ad is not None else None
            if why:
                ctx.bound.append(why)
                blocked.add(ad_id)
                gap_only.add(ad_id)
    return blocked, gap_only, capped_campaigns


def _fallback(ctx: _Context, rng: random.Random, note: str) -> Decision:
    caps = ctx.rules.caps
    if any(_zero(lim) for lim in (caps.every_ad, caps.every_campaign)):
        return Decision(ad=None, rule=STANDBY_RULE, reason=f"{note}; a cap of 0 applies to every ad")
    blocked, gap_only, capped_campaigns = _house_blocks(ctx)
    pools = _house_pools(ctx)
    ads: Sequence[Ad] = []
    for pool in pools:
        ads = pool.ads
        if blocked or capped_campaigns:
            ads = [ad for ad in pool.ads if ad.ad_id not in blocked and ad.campaign not in capped_campaigns]
        if ads:
            break
    if not ads:  # a too-short catalog: repeat sooner rather than show standby
        for pool in pools:
            ads = [ad for ad in pool.ads if ad.ad_id in gap_only and ad.campaign not in capped_campaigns]
            if ads:
                break
    if not ads:
        reason = "every ad is capped, out of its dates or restricted for this audience"
        return Decision(ad=None, rule=STANDBY_RULE, reason=f"{note}; {reason}")
    house = house_rotation(ads, ctx.local, ctx.history, rng)
    return Decision(ad=house.ad, rule=house.rule, reason=f"{note}; {house.reason}", runner_up=house.runner_up)


def explain(
    audience: AudienceSnapshot,
    catalog: Catalog,
    rules: RuleSet,
    history: Sequence[PlayRecord],
    now: datetime,
    rng: random.Random,
    policy: PolicySettings,
) -> Explanation:
    """``decide`` with the tier that won and the caps or gaps that excluded an ad on the way."""
    ctx = _context(rules, catalog, history, now, audience, policy)
    view = AudienceView(audience)
    tiers = rules.active_tiers(ctx.local.weekday(), ctx.local.hour * 60 + ctx.local.minute, ctx.day)
    pools = [ctx.index.tier_pools(tier, ctx.day, ctx.allow_restricted) for tier in tiers]
    for i, tier in enumerate(pools):
        picked = _pick_in_tier(ctx, view, tier, rng, None)
        if picked is None:
            continue
        rule, pool, ad = picked
        runner_up = _runner_up(ctx, view, pools[i:], rng, ad)
        reason = _rule_reason(rule, ad, ctx, tier, pool)
        if ctx.bound:
            reason += f"; skipped: {'; '.join(dict.fromkeys(ctx.bound))}"
        bound = tuple(dict.fromkeys(ctx.bound))
        return Explanation(Decision(ad, rule.rule_id, reason, runner_up), tier.tier, bound)
    active = sum(len(t.rules) for t in tiers)
    offering = sum(len(t.entries) for t in pools)
    matched = sum(
        1 for t in pools for rule, _ in t.entries if view.matches(rule.audience, rule.min_confidence)
    )
    if not active:
        note = "no rule is on at this time"
    elif not offering:
        note = f"none of the {active} rule(s) on at this time has an ad for today and this audience"
    elif not matched:
        note = f"none of the {active} rule(s) on at this time matches this audience"
    else:
        note = f"{matched} matching rule(s) but none has an eligible ad"
    decision = _fallback(ctx, rng, note)
    return Explanation(decision, None, tuple(dict.fromkeys(ctx.bound)))


def _runner_up(
    ctx: _Context, view: AudienceView, tiers: Sequence[TierPools], rng: random.Random, chosen: Ad
) -> Ad | None:
    """What would have played had the winner not been available: the same precedence, one ad less."""
    bound = list(ctx.bound)
    try:
        for tier in tiers:
            picked = _pick_in_tier(ctx, view, tier, rng, chosen.ad_id)
            if picked is not None:
                return picked[2]
        for pool in _house_pools(ctx):
            ad = pool.draw(rng, ctx.eligible(None, chosen.ad_id))
            if ad is not None:
                return ad
        return None
    finally:
        ctx.bound[:] = bound  # the runner-up search must not add to the winner's reasons


def decide(
    audience: AudienceSnapshot,
    catalog: Catalog,
    rules: RuleSet,
    history: Sequence[PlayRecord],
    now: datetime,
    rng: random.Random,
    policy: PolicySettings,
) -> Decision:
    """The next ad for this audience at ``now`` (timezone-aware), with the rule that fired and why."""
    return explain(audience, catalog, rules, history, now, rng, policy).decision
