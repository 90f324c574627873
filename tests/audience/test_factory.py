"""Start-up: a missing model stops perception with one clear sentence."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from classifier.attributes import ModelError
from signage.audience import FakeLatestFrame
from signage.audience.factory import build_perception_stage
from signage.settings import Settings


@pytest.mark.slow  # imports torch: seconds on a loaded machine
def test_missing_model_is_one_clear_sentence(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as info:
        build_perception_stage(Settings(), FakeLatestFrame(), threading.Event(), models_dir=tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message
    assert message.count(". ") == 0 and "\n" not in message
