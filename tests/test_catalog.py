from pathlib import Path

import cv2
import numpy as np
import pytest

from signage.catalog import load_catalog
from signage.domain import MediaKind
from signage.yamlconf import ConfigError


@pytest.fixture()
def media(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    writer = cv2.VideoWriter(str(folder / "clip.mp4"), cv2.VideoWriter.fourcc(*"mp4v"), 10, (64, 48))
    for i in range(20):
        writer.write(np.full((48, 64, 3), i * 10, np.uint8))
    writer.release()
    cv2.imwrite(str(folder / "still.png"), np.full((48, 64, 3), 200, np.uint8))
    return folder


def catalog(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(body)
    return path


ENTRY = "  - id: {id}\n    media: {media}\n    advertiser: A\n    campaign: c\n"


def test_video_duration_is_probed_and_stills_use_their_duration(tmp_path: Path, media: Path) -> None:
    path = catalog(
        tmp_path,
        "ads:\n"
        + ENTRY.format(id="v", media="media/clip.mp4")
        + ENTRY.format(id="s", media="media/still.png")
        + "    duration_s: 5\n",
    )
    loaded = load_catalog(path)
    video, still = loaded.ads
    assert video.kind is MediaKind.VIDEO and video.duration_s == pytest.approx(2.0)
    assert still.kind is MediaKind.IMAGE and still.duration_s == 5
    assert loaded.skipped == ()


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("gone.mp4", None, "does not exist"),
        ("empty.mp4", b"", "is empty"),
        ("corrupt.mp4", b"\x00not a video" * 100, "cannot be opened"),
        ("notes.txt", b"hello", "unsupported type .txt"),
        ("broken.png", b"\x89PNG garbage", "cannot be decoded"),
    ],
)
def test_bad_media_leaves_one_ad_out_with_one_sentence(
    tmp_path: Path, media: Path, name: str, content: bytes | None, expected: str
) -> None:
    if content is not None:
        (media / name).write_bytes(content)
    path = catalog(
        tmp_path,
        "ads:\n"
        + ENTRY.format(id="bad", media=f"media/{name}")
        + ENTRY.format(id="ok", media="media/clip.mp4"),
    )
    loaded = load_catalog(path)
    assert [ad.ad_id for ad in loaded.ads] == ["ok"]
    (note,) = loaded.skipped
    assert note.startswith("ad 'bad' left out:") and expected in note


def test_truncated_video_is_caught(tmp_path: Path, media: Path) -> None:
    data = (media / "clip.mp4").read_bytes()
    (media / "cut.mp4").write_bytes(data[: len(data) // 2])
    loaded = load_catalog(catalog(tmp_path, "ads:\n" + ENTRY.format(id="cut", media="media/cut.mp4")))
    assert loaded.ads == () and len(loaded.skipped) == 1


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ("ads:\n  - id: x\n    media: m.mp4\n    campaign: c\n", 2, "required key is missing"),
        ("ads:\n" + ENTRY.format(id="x", media="m.mp4") + "    colour: red\n", 6, "unknown key"),
        ("ads:\n" + ENTRY.format(id="Bad Id", media="m.mp4"), 2, "should match pattern"),
        ("ads:\n" + ENTRY.format(id="x", media="m.mp4") + "    weight: 0\n", 6, "greater than 0"),
        (
            "ads:\n"
            + ENTRY.format(id="x", media="m.mp4")
            + "    valid_from: 2026-12-01\n    valid_until: 2026-11-01\n",
            2,
            "valid_until is before valid_from",
        ),
        (
            "ads:\n" + ENTRY.format(id="x", media="a.mp4") + ENTRY.format(id="x", media="b.mp4"),
            1,
            "used twice",
        ),
        ("ads: [\n", 2, "YAML syntax error"),
        ("- just\n- a list\n", 1, "must be a mapping"),
    ],
)
def test_structural_errors_are_located(tmp_path: Path, body: str, line: int, fragment: str) -> None:
    path = catalog(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_catalog(path)
    finding = info.value.findings[0]
    assert finding.file == str(path)
    assert finding.line == line, str(finding)
    assert fragment in finding.message


def test_confirmed_subjects_win_over_suggestions(tmp_path: Path, media: Path) -> None:
    body = (
        "ads:\n"
        + ENTRY.format(id="a", media="media/clip.mp4")
        + "    auto_subjects: [{id: food, score: 0.8}]\n"
    )
    body += ENTRY.format(id="b", media="media/clip.mp4") + "    subjects: [drinks]\n"
    body += "    auto_subjects: [{id: food, score: 0.9}]\n"
    a, b = load_catalog(catalog(tmp_path, body)).ads
    assert a.subjects == ("food",) and b.subjects == ("drinks",)


def test_missing_standby_is_dropped(tmp_path: Path, media: Path) -> None:
    loaded = load_catalog(catalog(tmp_path, "standby: media/none.png\nads: []\n"))
    assert loaded.standby is None and loaded.ads == ()
