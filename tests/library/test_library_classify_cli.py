from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data
from typer.testing import CliRunner

from signage.cli import app

pytestmark = pytest.mark.slow


def test_classify_json_is_one_object_highest_first(tmp_path: Path) -> None:
    image = tmp_path / "coffee.jpg"
    cv2.imwrite(str(image), np.ascontiguousarray(data.coffee()[:, :, ::-1]))
    result = CliRunner().invoke(app, ["ads", "classify", str(image), "--json", "--no-ocr"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output.strip().splitlines()[-1])
    scores = [s["score"] for s in payload["subjects"]]
    assert payload["subjects"][0]["id"] == "drinks" and scores == sorted(scores, reverse=True)
    assert len(scores) == 14
