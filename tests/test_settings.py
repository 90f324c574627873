from pathlib import Path

import pytest

from signage.settings import Settings, load_settings
from signage.yamlconf import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "signage.yaml"
    path.write_text(text)
    return path


def test_defaults_when_no_file() -> None:
    settings = load_settings(None)
    assert settings.screen_id == "screen-1"
    assert settings.camera.source == "auto"
    assert settings.resolved_database_url().startswith("sqlite:///")
    assert settings.policy.restricted_subjects == ("alcohol",)


def test_relative_paths_resolve_beside_the_file(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "data_dir: var\ncatalog: ads/catalog.yaml\n"))
    assert settings.data_dir == tmp_path / "var"
    assert settings.catalog == tmp_path / "ads" / "catalog.yaml"


def test_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "screen_id: door\ncamera:\n  source: simulated\n  fsp: 25\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    (finding,) = info.value.findings
    assert (finding.file, finding.line, finding.column) == (str(path), 4, 3)
    assert finding.key == "camera.fsp"
    assert "unknown key" in finding.message


def test_bad_value_points_at_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, "camera:\n  fps: -3\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    (finding,) = info.value.findings
    assert (finding.line, finding.key) == (2, "camera.fps")
    assert "greater than 0" in finding.message and "-3" in finding.message


def test_unknown_time_zone(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, "timezone: Mars/Olympus\n"))
    assert "unknown time zone" in str(info.value)
    assert ":1:11:" in str(info.value)


def test_yaml_syntax_error_is_located(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, "screen_id: a\ncamera: [oops\n"))
    (finding,) = info.value.findings
    assert finding.line >= 2 and "YAML syntax error" in finding.message


def test_settings_are_immutable() -> None:
    with pytest.raises(Exception, match="frozen"):
        Settings().screen_id = "x"  # type: ignore[misc]


def test_a_relative_camera_file_resolves_beside_the_settings(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "camera:\n  source: clips/door.mp4\n")).camera.source == str(
        tmp_path / "clips" / "door.mp4"
    )
    for keyword in ("auto", "simulated:3", "none", "0", "rtsp://cam/1"):
        assert load_settings(write(tmp_path, f"camera:\n  source: '{keyword}'\n")).camera.source == keyword
