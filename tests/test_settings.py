import os
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
        Settings().screen_id = "x"


def test_a_relative_camera_file_resolves_beside_the_settings(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "camera:\n  source: clips/door.mp4\n")).camera.source == str(
        tmp_path / "clips" / "door.mp4"
    )
    for keyword in ("auto", "simulated:3", "none", "0", "rtsp://cam/1"):
        assert load_settings(write(tmp_path, f"camera:\n  source: '{keyword}'\n")).camera.source == keyword


# --- what would fail later is refused at load, located ---------------------------------------


def refused(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    assert info.value.findings, "a refused file must say why"
    return info.value


def test_a_time_zone_folder_is_refused_not_a_traceback(tmp_path: Path) -> None:
    for name in ("Europe", "America", "../etc", "Europe/Paris\\0", "zone.tab", "x" * 300):
        (finding,) = refused(tmp_path, f'screen_id: a\ntimezone: "{name}"\n').findings
        assert (finding.line, finding.key) == (2, "timezone"), name
        assert "unknown time zone" in finding.message
    assert load_settings(write(tmp_path, "timezone: Europe/Paris\n")).tz.key == "Europe/Paris"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("not a url", "not a database URL"),
        ("postgresql+psycopg://u@h:port/db", "not a database URL"),
        ("nosuchdb://u@h/db", "unknown database kind 'nosuchdb'"),
        ("postgresql+nosuchdriver://u@h/db", "unknown database kind 'postgresql+nosuchdriver'"),
    ],
)
def test_a_database_url_sqlalchemy_cannot_open_is_refused(tmp_path: Path, url: str, words: str) -> None:
    for key, text in (
        ("database_url", f'database_url: "{url}"\n'),
        ("web.database_url", f'web:\n  database_url: "{url}"\n'),
        ("fleet.central_url", f'fleet:\n  central_url: "{url}"\n'),
    ):
        (finding,) = refused(tmp_path, text).findings
        assert finding.key == key and words in finding.message, str(finding)
        assert finding.line == text.count("\n")


def test_working_database_urls_are_kept(tmp_path: Path) -> None:
    url = "postgresql+psycopg://signage@db:5432/signage"
    settings = load_settings(
        write(tmp_path, f"database_url: {url}\nfleet:\n  central_url: 'sqlite:///c.db'\n")
    )
    assert settings.resolved_database_url() == url and settings.fleet.central_url == "sqlite:///c.db"


def test_a_data_dir_that_cannot_be_created_is_refused_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    for value, words in (("a-file", "is a file, not a folder"), ("a-file/data", "cannot be created")):
        (finding,) = refused(tmp_path, f"screen_id: a\ndata_dir: {value}\n").findings
        assert (finding.line, finding.column, finding.key) == (2, 11, "data_dir")
        assert words in finding.message and str(tmp_path / "a-file") in finding.message
    assert not (tmp_path / "data").exists()  # checking creates nothing
    assert load_settings(write(tmp_path, "data_dir: new/data\n")).data_dir == tmp_path / "new" / "data"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_an_unwritable_data_dir_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        for value in ("locked", "locked/data"):
            (finding,) = refused(tmp_path, f"data_dir: {value}\n").findings
            assert finding.key == "data_dir" and "not writable" in finding.message
    finally:
        locked.chmod(0o700)


def test_ids_must_fit_their_database_columns(tmp_path: Path) -> None:
    (finding,) = refused(tmp_path, f"screen_id: {'s' * 100}\n").findings
    assert (finding.line, finding.key) == (1, "screen_id") and "at most 64 characters" in finding.message
    (finding,) = refused(tmp_path, f"store_id: {'s' * 65}\n").findings
    assert finding.key == "store_id" and "at most 64" in finding.message
    (finding,) = refused(tmp_path, 'screen_id: "door\\0"\n').findings
    assert "control characters" in finding.message
    long_central = "postgresql+psycopg://u@h/" + "d" * 250
    (finding,) = refused(tmp_path, f"fleet:\n  central_url: {long_central}\n").findings
    assert finding.key == "fleet.central_url" and "too long" in finding.message
    assert load_settings(write(tmp_path, f"screen_id: {'s' * 64}\n")).screen_id == "s" * 64


def test_yaml_problems_in_settings_are_located(tmp_path: Path) -> None:
    (finding,) = refused(tmp_path, "screen_id: a\ncamera:\n  fps: 10\n  fps: 25\n").findings
    assert (finding.line, finding.key) == (4, "camera.fps") and "duplicate key 'fps'" in finding.message
    (finding,) = refused(tmp_path, "screen_id: 2026-02-30\n").findings
    assert (finding.line, finding.column) == (1, 12) and "day is out of range" in finding.message
    (finding,) = refused(
        tmp_path,
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{n}: &{n} [" + ", ".join([f"*{p}"] * 10) + "]\n"
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ).findings
    assert "expands too much" in finding.message
    (finding,) = refused(tmp_path, "camera: &c {source: *c}\n").findings
    assert "recursive alias" in finding.message
    path = tmp_path / "signage.yaml"
    path.write_bytes(b"screen_id: \xff\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(path)


def test_non_finite_numbers_and_nul_paths_are_refused(tmp_path: Path) -> None:
    (finding,) = refused(tmp_path, "camera:\n  frozen_after_s: .inf\n").findings
    assert finding.key == "camera.frozen_after_s" and "finite" in finding.message
    (finding,) = refused(tmp_path, 'catalog: "ads\\0/catalog.yaml"\n').findings
    assert finding.key == "catalog" and "NUL" in finding.message
