"""The on-screen word matcher: generic words count little, shared words are shared, part of a name counts."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.subjects.lexicon import (
    DECAY,
    GENERIC_WEIGHT,
    PARTIAL_WEIGHT,
    Lexicon,
    WordMatch,
    load_vocabulary,
)
from classifier.subjects.ocr import TextLine
from classifier.subjects.split import group_key
from classifier.subjects.train import folds_of

SUBJECTS = ("finance", "kids", "sports", "fashion")


def _lines(*texts: str) -> list[TextLine]:
    return [TextLine(t, 1.0, 0.1, 0.0) for t in texts]


def _evidence(lexicon: Lexicon, *texts: str) -> np.ndarray:
    return Lexicon.subject_evidence(lexicon.match(_lines(*texts)), SUBJECTS)


def test_a_generic_word_counts_less_than_a_product_word() -> None:
    lexicon = Lexicon({"finance": ["mortgage"], "kids": ["play", "toys"], "generic": ["play"]})
    evidence = _evidence(lexicon, "PLAY", "MORTGAGE 3.9%")
    assert evidence[0] == pytest.approx(1.0)
    assert evidence[1] == pytest.approx(GENERIC_WEIGHT)
    assert _evidence(lexicon, "toys")[1] == pytest.approx(1.0)


def test_a_word_several_subjects_list_is_shared_between_them() -> None:
    lexicon = Lexicon({"sports": ["game day", "league"], "kids": ["game day"]})
    evidence = _evidence(lexicon, "Game Day")
    assert evidence[1] == pytest.approx(0.5) and evidence[2] == pytest.approx(0.5)
    assert _evidence(lexicon, "league")[2] == pytest.approx(1.0)


def test_common_words_absorb_near_misses_instead_of_matching_a_brand() -> None:
    brand_only = Lexicon({"fashion": ["gucci", "togetherwear"]})
    with_words = Lexicon({"fashion": ["gucci", "togetherwear"], "generic": ["together"]})
    for read in ("together", "togetherr"):  # the word, and an OCR slip of it
        assert [m.entry for m in brand_only.match(_lines(read))] == ["togetherwear"]
        assert with_words.match(_lines(read)) == []
    assert [m.entry for m in with_words.match(_lines("Gucci"))] == ["gucci"]


def test_the_first_word_of_a_brand_stands_for_it_at_a_discount() -> None:
    lexicon = Lexicon({"fashion": ["calvin klein"], "sports": ["under armour"], "generic": ["under"]})
    found = lexicon.match(_lines("CALVIN"))
    assert [m.entry for m in found] == ["calvin klein"]
    assert found[0].strength == pytest.approx(PARTIAL_WEIGHT)
    assert lexicon.match(_lines("under")) == []  # a common first word is not a brand
    assert lexicon.match(_lines("Calvin Klein"))[0].strength == pytest.approx(1.0)


def test_more_hits_add_up_with_decay() -> None:
    matches = [WordMatch(("kids",), f"w{i}", f"w{i}", 1.0, 1.0) for i in range(6)]
    evidence = Lexicon.subject_evidence(matches, SUBJECTS)
    assert evidence[1] == pytest.approx(sum(DECAY**k for k in range(4)))  # four at most count


def test_shipped_vocabulary_reads_generic_domain_words() -> None:
    lexicon = Lexicon(load_vocabulary())
    ids = ("finance", "travel", "home", "kids", "alcohol", "drinks", "food", "health")
    cases = {
        "Low rate personal loan, 4.9% APR representative": "finance",
        "Fly direct to 40 destinations, book your flights": "travel",
        "Washing powder for brighter whites": "home",
        "Nappy pants, dry all night": "kids",
        "Craft beer, brewed since 1890": "alcohol",
        "Sparkling water, zero sugar": "drinks",
        "Fried chicken bucket, order now": "food",
        "Fast relief from sore throat": "health",
    }
    for text, subject in cases.items():
        evidence = Lexicon.subject_evidence(lexicon.match(_lines(text)), ids)
        assert ids[int(np.argmax(evidence))] == subject, text
    assert not lexicon.match(_lines("Now available, discover more today"))


def test_cross_validation_folds_keep_each_brand_together() -> None:
    rows = [{"file": f"ad_{i}.png", "brand": f"Brand {i % 7}"} for i in range(30)]
    groups = [group_key(r) for r in rows]
    fold = folds_of(len(rows), 5, 1, groups)
    for g in set(groups):
        assert len({int(f) for f, h in zip(fold, groups, strict=True) if h == g}) == 1
    sizes = np.bincount(fold, minlength=5)
    assert sizes.max() - sizes.min() <= 5 and set(fold.tolist()) == set(range(5))
    assert folds_of(len(rows), 5, 1, groups).tolist() == fold.tolist()  # seeded
