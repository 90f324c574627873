"""Does the audience in front of the screen satisfy a rule's audience spec?

A person who may be a minor never counts towards a demographic match, whatever the rule says:
demographic targeting is for adults only. An attribute whose probability is below the rule's
minimum confidence counts as unknown, and unknown never matches.
"""

from __future__ import annotations

from dataclasses import dataclass

from signage.domain import AgeBand, AudienceSnapshot, Emotion, Gender, Track
from signage.targeting.model import AudienceSpec, Group

_BANDS: tuple[AgeBand, ...] = tuple(AgeBand)
_ADULT_BANDS = tuple(i for i, band in enumerate(_BANDS) if not band.is_minor)
_EMOTIONS: tuple[Emotion, ...] = tuple(Emotion)


@dataclass(frozen=True)
class Person:
    """The probabilities of one track, computed once per decision."""

    bands: tuple[float, ...] | None  # aligned with AgeBand order
    p_female: float | None
    emotions: tuple[float, ...] | None  # aligned with Emotion order
    possible_minor: bool
    watching: bool

    @classmethod
    def of(cls, track: Track) -> Person:
        probs = track.band_probabilities()
        return cls(
            bands=tuple(probs[b] for b in _BANDS) if probs else None,
            p_female=track.p_female,
            emotions=track.emotion_probs if track.emotion_probs else None,
            possible_minor=track.possible_minor,
            watching=track.watching,
        )

    def p_adult(self) -> float:
        return 0.0 if self.bands is None else sum(self.bands[i] for i in _ADULT_BANDS)

    def is_adult(self, conf: float) -> bool:
        return not self.possible_minor and self.p_adult() >= conf

    def matches(self, spec: PersonSpec, conf: float) -> bool:
        if self.possible_minor:
            return False
        bands, emotions = self.bands, self.emotions
        if spec.bands and (bands is None or sum(bands[i] for i in spec.bands) < conf):
            return False
        if spec.female is not None:
            if self.p_female is None:
                return False
            if (self.p_female if spec.female else 1.0 - self.p_female) < conf:
                return False
        if spec.emotions:
            if emotions is None or len(emotions) != len(_EMOTIONS):
                return False
            if sum(emotions[i] for i in spec.emotions) < conf:
                return False
        return True


@dataclass(frozen=True)
class PersonSpec:
    """A spec's person attributes as indices into a Person's probability tuples."""

    bands: tuple[int, ...]
    female: bool | None
    emotions: tuple[int, ...]

    @classmethod
    def of(cls, spec: AudienceSpec) -> PersonSpec:
        return cls(
            bands=tuple(_BANDS.index(b) for b in spec.age),
            female=None if spec.gender is None else spec.gender is Gender.FEMALE,
            emotions=tuple(_EMOTIONS.index(e) for e in spec.emotion),
        )


# Specs are frozen and interned per rule set; their index form is computed once (keyed by
# identity, checked against the spec itself so a recycled id is never trusted).
_person_specs: dict[int, tuple[AudienceSpec, PersonSpec]] = {}


class AudienceView:
    """One snapshot, with per-person probabilities and per-spec answers memoised for one decision."""

    def __init__(self, snapshot: AudienceSnapshot) -> None:
        self.snapshot = snapshot
        self._people: tuple[Person, ...] | None = None
        self._memo: dict[tuple[int, float], bool] = {}

    @property
    def people(self) -> tuple[Person, ...]:
        if self._people is None:
            self._people = tuple(Person.of(t) for t in self.snapshot.tracks)
        return self._people

    def matches(self, spec: AudienceSpec | None, conf: float) -> bool:
        if spec is None:
            return True
        key = (id(spec), conf)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self._evaluate(spec, conf)
        return hit

    def _evaluate(self, spec: AudienceSpec, conf: float) -> bool:
        if not self.snapshot.known:
            return False  # a rule that names an audience needs one we can see
        people = self.people
        if spec.present is not None and not spec.present.contains(len(people)):
            return False
        if spec.watching is not None and not spec.watching.contains(sum(p.watching for p in people)):
            return False
        if spec.group is not None and not _in_group(spec.group, people, conf):
            return False
        if spec.uses_person_attributes:
            hit = _person_specs.get(id(spec))
            if hit is None or hit[0] is not spec:
                if len(_person_specs) > 100_000:  # rule reloads leave old specs behind
                    _person_specs.clear()
                hit = _person_specs[id(spec)] = (spec, PersonSpec.of(spec))
            person = hit[1]
            matching = sum(1 for p in people if p.matches(person, conf))
            if matching < spec.people:
                return False
        return True


def _in_group(group: Group, people: tuple[Person, ...], conf: float) -> bool:
    if group is Group.SOLO:
        return len(people) == 1
    if group is Group.COUPLE:
        return len(people) == 2 and all(p.is_adult(conf) for p in people)
    if group is Group.ADULT_WITH_CHILD:
        return any(p.is_adult(conf) for p in people) and any(p.possible_minor for p in people)
    return len(people) >= 3  # Group.CROWD


def describe_spec(spec: AudienceSpec | None, conf: float) -> str:
    """The spec in words, for a decision's reason."""
    if spec is None:
        return "anyone"
    parts: list[str] = []
    if spec.uses_person_attributes:
        nouns = {Gender.FEMALE: ("woman", "women"), Gender.MALE: ("man", "men"), None: ("person", "people")}
        noun = nouns[spec.gender][spec.people > 1]
        words = ("/".join(e.value for e in spec.emotion), noun, "/".join(b.value for b in spec.age))
        who = " ".join(x for x in words if x)
        parts.append(f"{'at least ' if spec.people > 1 else ''}{spec.people} {who} (confidence {conf:.2f})")
    if spec.group is not None:
        parts.append(f"group {spec.group.value}")
    for label, rng in (("present", spec.present), ("watching", spec.watching)):
        if rng is not None:
            upper = "+" if rng.max is None else f"-{rng.max}"
            parts.append(f"{rng.min}{upper} {label}")
    return ", ".join(parts)
