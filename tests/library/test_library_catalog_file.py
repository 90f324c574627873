from __future__ import annotations

from pathlib import Path

import pytest

from signage.catalog import load_catalog
from signage.library.catalog_file import CatalogDocument
from signage.yamlconf import ConfigError


def test_auto_subjects_are_added_with_comments_and_order_kept(catalog: Path) -> None:
    before = catalog.read_text()
    doc = CatalogDocument.open(catalog)
    doc.set_auto_subjects("mystery", [("food", 0.8123), ("drinks", 0.1)])
    doc.save()
    after = catalog.read_text()
    for line in before.splitlines():  # every original line survives, comments included
        assert line in after
    assert "auto_subjects:\n      - {id: food, score: 0.812}\n      - {id: drinks, score: 0.1}" in after
    loaded = load_catalog(catalog, probe=False)
    mystery = loaded.by_id("mystery")
    assert mystery is not None and mystery.subjects == ("food", "drinks")


def test_auto_subjects_go_after_confirmed_subjects(catalog: Path) -> None:
    doc = CatalogDocument.open(catalog)
    doc.set_auto_subjects("coffee-morning", [("drinks", 0.9)])
    keys = list(doc.find("coffee-morning") or {})
    assert keys[keys.index("subjects") + 1] == "auto_subjects"


def test_a_broken_catalog_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text("ads:\n  - id: Bad Id\n    media: x.png\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        CatalogDocument.open(path)
    assert "catalog.yaml:2" in str(err.value)
    assert path.read_text() == "ads:\n  - id: Bad Id\n    media: x.png\n"


def test_a_missing_catalog_starts_empty(tmp_path: Path) -> None:
    doc = CatalogDocument.open(tmp_path / "new" / "catalog.yaml")
    assert list(doc.entries()) == []
    doc.save()
    assert (tmp_path / "new" / "catalog.yaml").read_text().startswith("# The ad catalog")


def test_save_leaves_no_temporary_files(catalog: Path) -> None:
    doc = CatalogDocument.open(catalog)
    doc.remove("mystery")
    doc.save()
    assert sorted(p.name for p in catalog.parent.iterdir()) == ["catalog.yaml", "media"]
    assert "mystery" not in catalog.read_text()
    assert "# Store catalog: keep this comment." in catalog.read_text()
