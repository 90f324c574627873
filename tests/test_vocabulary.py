"""classifier/ never imports signage/, so the two spell the shared vocabulary separately: they must agree."""

from __future__ import annotations

from classifier.attributes.datasets import AGE_BANDS, age_band
from classifier.attributes.network import EMOTIONS as MODEL_EMOTIONS
from classifier.subjects import frames
from signage import media
from signage.domain import EMOTIONS, AgeBand


def test_the_emotion_order_is_the_order_the_model_outputs() -> None:
    assert tuple(e.value for e in EMOTIONS) == MODEL_EMOTIONS


def test_the_age_bands_have_the_same_names_in_the_same_order() -> None:
    assert [name for name, _, _ in AGE_BANDS] == [band.value for band in AgeBand]


def test_every_age_falls_in_the_same_band_on_both_sides() -> None:
    ages = [quarter / 4 for quarter in range(4 * 110)]  # the band edges and the quarters between them
    differ = [a for a in ages if age_band(a) != AgeBand.of_age(a).value]
    assert differ == []


def test_signage_ads_tag_reads_every_file_the_player_plays() -> None:
    assert media.VIDEO_SUFFIXES <= frames.VIDEO_SUFFIXES
    assert media.IMAGE_SUFFIXES <= frames.IMAGE_SUFFIXES
