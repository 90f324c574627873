from __future__ import annotations

from pathlib import Path

import numpy as np

from classifier.subjects.cache import EvidenceStore, sha256_of
from classifier.subjects.classifier import Classification, Evidence
from classifier.subjects.head import SubjectHead
from classifier.subjects.ocr import TextLine
from classifier.subjects.types import MediaEmbedding, SubjectScore, SubjectScores
from signage.library.catalog_file import CatalogDocument
from signage.library.tagging import pick_suggestions, tag_catalog

IDS = ("food", "drinks", "pets")


class FakeClassifier:
    """Scores from the ad's title, so tests can say what a creative is about."""

    subject_ids = IDS

    def __init__(self) -> None:
        self.embedded: list[str] = []
        self.heads: list[SubjectHead | None] = []

    def evidence(self, path: Path) -> Evidence:
        self.embedded.append(path.name)
        features = np.zeros(1280, np.float32)
        features[len(path.name) % 1280] = 1.0
        embedding = MediaEmbedding(
            features, np.zeros(1000, np.float32), np.zeros((1, 1000), np.float32), (0.0,)
        )
        return Evidence(embedding, (TextLine("SALE", 0.9, 0.2, 0.0),), 0.0)

    def score(self, evidence: Evidence, *, text: str = "", head: SubjectHead | None = None) -> Classification:
        self.heads.append(head)
        if "unsure" in text.lower():
            vector = np.array([0.4, 0.35, 0.25])
        elif "new" in text.lower():
            vector = np.array([0.7, 0.2, 0.1])
        else:
            vector = np.array([0.1, 0.3, 0.6])
        return Classification(SubjectScores.from_vector(IDS, vector))


def test_unconfirmed_ads_get_suggestions_and_confirmed_ones_are_untouched(catalog: Path) -> None:
    before = catalog.read_text()
    fake = FakeClassifier()
    outcomes = tag_catalog(catalog, fake)
    assert [(o.ad_id, o.status) for o in outcomes] == [("mystery", "tagged")]
    doc = CatalogDocument.open(catalog)
    coffee, mystery = doc.find("coffee-morning"), doc.find("mystery")
    assert coffee is not None and list(coffee["subjects"]) == ["drinks"] and "auto_subjects" not in coffee
    assert mystery is not None
    assert [(a["id"], a["score"]) for a in mystery["auto_subjects"]] == [
        ("food", 0.7),
        ("drinks", 0.2),
        ("pets", 0.1),
    ]
    text = catalog.read_text()
    assert all(line in text for line in before.splitlines())
    # Only one confirmed subject: no head can be trained yet, the confirmed ad is embedded as an example.
    assert fake.heads == [None] and "coffee.png" in fake.embedded


def test_without_all_tagged_ads_are_skipped_and_with_all_they_are_redone(catalog: Path) -> None:
    tag_catalog(catalog, FakeClassifier())
    assert tag_catalog(catalog, FakeClassifier()) == []
    assert [o.ad_id for o in tag_catalog(catalog, FakeClassifier(), retag=True)] == ["mystery"]


def test_confirmed_ads_of_two_subjects_train_a_head(catalog: Path) -> None:
    doc = CatalogDocument.open(catalog)
    doc.append(
        {
            "id": "kitten",
            "media": "media/mystery.png",
            "advertiser": "A",
            "campaign": "c",
            "subjects": ["pets"],
        }
    )
    doc.append({"id": "new-one", "media": "media/coffee.png", "advertiser": "A", "campaign": "c"})
    doc.save()
    fake = FakeClassifier()
    tag_catalog(catalog, fake)
    head = fake.heads[0]
    assert head is not None and head.subject_ids == ("drinks", "pets") and head.examples == 2


def test_a_person_confirming_while_tagging_runs_wins(catalog: Path) -> None:
    class ConfirmingMidway(FakeClassifier):
        def evidence(self, path: Path) -> Evidence:
            doc = CatalogDocument.open(catalog)
            entry = doc.find("mystery")
            if entry is not None and path.name == "mystery.png":
                entry["subjects"] = ["pets"]
                doc.save()
            return super().evidence(path)

    tag_catalog(catalog, ConfirmingMidway())
    entry = CatalogDocument.open(catalog).find("mystery")
    assert entry is not None and list(entry["subjects"]) == ["pets"] and "auto_subjects" not in entry


def test_missing_media_is_reported_not_fatal(catalog: Path) -> None:
    (catalog.parent / "media" / "mystery.png").unlink()

    class Strict(FakeClassifier):
        def evidence(self, path: Path) -> Evidence:
            if not path.exists():
                raise OSError(f"{path} does not exist")
            return super().evidence(path)

    outcomes = tag_catalog(catalog, Strict())
    assert outcomes[0].status == "error" and "does not exist" in outcomes[0].message


def test_embeddings_are_cached_by_checksum(catalog: Path, tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "cache", "v1")
    first = FakeClassifier()
    tag_catalog(catalog, first, store=store)
    second = FakeClassifier()
    tag_catalog(catalog, second, retag=True, store=store)
    assert first.embedded and second.embedded == []
    cached = store.get(sha256_of(catalog.parent / "media" / "mystery.png"))  # keyed by content, not name
    assert cached is not None and [ln.text for ln in cached.lines] == ["SALE"]  # text read is kept too


def test_unsure_ads_are_listed_for_review_and_get_no_suggestion(catalog: Path) -> None:
    doc = CatalogDocument.open(catalog)
    doc.set_auto_subjects("mystery", [("pets", 0.9)])  # an older suggestion
    entry = doc.find("mystery")
    assert entry is not None
    entry["title"] = "Unsure thing"
    doc.save()
    outcomes = tag_catalog(catalog, FakeClassifier(), retag=True, min_confidence=0.5)
    assert [(o.ad_id, o.status) for o in outcomes] == [("mystery", "review")]
    assert outcomes[0].subjects[0].subject_id == "food"  # the guess is shown to the reviewer
    mystery = CatalogDocument.open(catalog).find("mystery")
    assert mystery is not None and "auto_subjects" not in mystery
    # An operator who accepts weaker suggestions gets them written.
    outcomes = tag_catalog(catalog, FakeClassifier(), retag=True, min_confidence=0.3)
    assert outcomes[0].status == "tagged"
    mystery = CatalogDocument.open(catalog).find("mystery")
    assert mystery is not None and mystery["auto_subjects"][0]["id"] == "food"


def test_pick_suggestions_keeps_the_best_even_when_weak() -> None:
    weak = [SubjectScore("food", 0.08), SubjectScore("pets", 0.07)]
    assert [s.subject_id for s in pick_suggestions(weak)] == ["food"]
    strong = [
        SubjectScore("a", 0.5),
        SubjectScore("b", 0.3),
        SubjectScore("c", 0.15),
        SubjectScore("d", 0.05),
    ]
    assert [s.subject_id for s in pick_suggestions(strong)] == ["a", "b", "c"]
