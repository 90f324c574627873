"""``signage ads tag``: suggest subjects for ads nobody has confirmed, never touching confirmed ones.

Ads with confirmed subjects are the store's labelled examples: their embeddings train the small
learned head before the others are classified, so the suggestions follow the store's own choices.
A suggestion is written only when the calibrated confidence of the best subject reaches
``min_confidence``; the other ads are listed for a person to review (and any older suggestion of
theirs is removed), so the catalog does not fill with confident nonsense.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from classifier.subjects.cache import EvidenceStore
from classifier.subjects.classifier import DEFAULT_MIN_CONFIDENCE, Classification, Evidence
from classifier.subjects.frames import MediaSamplingError
from classifier.subjects.head import Example, SubjectHead, fit_head
from classifier.subjects.types import SubjectScore
from signage.library.catalog_file import CatalogDocument
from signage.library.files import sha256_of

log = logging.getLogger(__name__)

TOP_K = 3
MIN_SCORE = 0.10  # a suggestion below this is noise; the best one is always kept


class Classifier(Protocol):
    """What tagging needs from ``classifier.subjects.classifier.SubjectClassifier`` (a fake in tests)."""

    @property
    def subject_ids(self) -> tuple[str, ...]: ...

    def evidence(self, path: Path) -> Evidence: ...

    def score(
        self, evidence: Evidence, *, text: str = "", head: SubjectHead | None = None
    ) -> Classification: ...


@dataclass(frozen=True)
class TagOutcome:
    ad_id: str
    status: str  # "tagged", "review" (not sure enough: nothing written), "error"
    subjects: tuple[SubjectScore, ...] = ()
    message: str = ""


def pick_suggestions(
    scores: Sequence[SubjectScore], top_k: int = TOP_K, min_score: float = MIN_SCORE
) -> tuple[SubjectScore, ...]:
    kept = [s for s in scores[:top_k] if s.score >= min_score]
    return tuple(kept or scores[:1])


class Embedder:
    """Evidence for catalog entries, from the on-disk cache when the media is unchanged."""

    def __init__(self, classifier: Classifier, store: EvidenceStore | None) -> None:
        self._classifier = classifier
        self._store = store

    def __call__(self, media: Path, sha: str | None) -> Evidence:
        sha = sha if sha else sha256_of(media)
        cached = self._store.get(sha) if self._store else None
        if cached is not None:
            return cached
        evidence = self._classifier.evidence(media)
        if self._store:
            self._store.put(sha, evidence)
        return evidence


def train_store_head(doc: CatalogDocument, embed: Embedder, known: set[str]) -> SubjectHead | None:
    examples = []
    for entry in doc.entries():
        confirmed = tuple(str(s) for s in entry.get("subjects") or () if str(s) in known)
        if not confirmed:
            continue
        try:
            evidence = embed(doc.base / str(entry.get("media", "")), entry.get("sha256"))
        except (MediaSamplingError, OSError) as exc:
            log.info("confirmed ad %s not used as an example: %s", entry.get("id"), exc)
            continue
        examples.append(Example(evidence.embedding.features, confirmed))
    head = fit_head(examples)
    if head is not None:
        log.info("learned head from %d confirmed ads over %d subjects", len(examples), len(head.subject_ids))
    return head


def tag_catalog(
    catalog: Path,
    classifier: Classifier,
    *,
    retag: bool = False,
    only: Sequence[str] = (),
    store: EvidenceStore | None = None,
    progress: Callable[[str], None] | None = None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> list[TagOutcome]:
    """Tag unconfirmed ads (all of them with ``retag``, else only untagged ones) and save once.

    Ads whose best subject is below ``min_confidence`` come back as "review" and get no suggestion."""
    doc = CatalogDocument.open(catalog)
    embed = Embedder(classifier, store)
    todo = [
        e
        for e in doc.entries()
        if not e.get("subjects")
        and (retag or only or not e.get("auto_subjects"))
        and (not only or e.get("id") in only)
    ]
    if not todo:
        return []
    head = train_store_head(doc, embed, set(classifier.subject_ids))
    outcomes = []
    for entry in todo:
        ad_id = str(entry["id"])
        if progress:
            progress(ad_id)
        media = doc.base / str(entry.get("media", ""))
        if not media.is_file():
            outcomes.append(TagOutcome(ad_id, "error", message=f"media file {media} does not exist"))
            continue
        try:
            evidence = embed(media, entry.get("sha256"))
            text = ". ".join(str(entry.get(k) or "").strip() for k in ("title", "description")).strip(". ")
            result = classifier.score(evidence, text=text, head=head)
            status = "review" if result.abstains(min_confidence) else "tagged"
            outcomes.append(TagOutcome(ad_id, status, pick_suggestions(result.scores.scores)))
        except (MediaSamplingError, OSError) as exc:
            outcomes.append(TagOutcome(ad_id, "error", message=str(exc)))
    _write(catalog, outcomes)
    return outcomes


def _write(catalog: Path, outcomes: Sequence[TagOutcome]) -> None:
    """Apply the suggestions to the file as it is now: a person may have edited it (even confirmed an
    ad) while the classifier ran, and those edits win."""
    doc = CatalogDocument.open(catalog)
    for outcome in outcomes:
        entry = doc.find(outcome.ad_id)
        if outcome.status == "error" or entry is None or entry.get("subjects"):
            continue
        if outcome.status == "review":
            entry.pop("auto_subjects", None)  # an older, surer-looking suggestion must not linger
            continue
        doc.set_auto_subjects(outcome.ad_id, [(s.subject_id, s.score) for s in outcome.subjects])
    doc.save()
