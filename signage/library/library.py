"""The marketer's ad library: add, list and remove creatives in the catalog.

Adding is all-or-nothing: the media is probed first (a corrupt, empty or unsupported file is refused
with one sentence before anything is touched), then copied under a temporary name and renamed, then
the thumbnail is made, and the catalog is replaced atomically last; if that fails, the copies are
removed again. The same file added twice is recognised by its checksum and left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from signage.catalog import CatalogFile
from signage.domain import MediaKind
from signage.library.catalog_file import CatalogDocument
from signage.library.files import atomic_copy, sha256_of, slugify, write_thumbnail
from signage.media import CatalogMediaError, ProbedMediaInfo, media_kind, probe_media
from signage.yamlconf import load_model

log = logging.getLogger(__name__)


class LibraryError(Exception):
    """A library operation was refused; the message is one sentence and nothing was changed."""


@dataclass(frozen=True)
class AdDetails:
    ad_id: str | None = None
    advertiser: str | None = None
    campaign: str | None = None
    title: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class AddResult:
    ad_id: str
    added: bool  # False: the same file was already in the catalog
    media: Path
    info: ProbedMediaInfo | None


@dataclass(frozen=True)
class LibraryRow:
    ad_id: str
    media: str
    kind: str
    duration_s: float | None
    advertiser: str
    campaign: str
    subjects: tuple[str, ...]
    auto_subjects: tuple[tuple[str, float], ...]
    media_present: bool


def _same_file_entry(doc: CatalogDocument, src: Path, sha: str) -> str | None:
    entry = doc.find_by_sha(sha)
    if entry is not None:
        return str(entry["id"])
    size = src.stat().st_size
    for candidate in doc.entries():  # hand-written entries carry no checksum: compare the bytes' hash
        media = doc.base / str(candidate.get("media", ""))
        if _is_file(media) and media.stat().st_size == size and sha256_of(media) == sha:
            return str(candidate["id"])
    return None


def _free_id(doc: CatalogDocument, wanted: str, explicit: bool) -> str:
    taken = doc.ids()
    if wanted not in taken:
        return wanted
    if explicit:
        raise LibraryError(f"ad id '{wanted}' is already used by another creative; choose another --id.")
    n = 2
    while f"{wanted}-{n}" in taken:
        n += 1
    return f"{wanted}-{n}"


def _library_path(doc: CatalogDocument, src: Path, ad_id: str, sha: str) -> Path:
    media_dir = doc.base / "media"
    if src.resolve().parent == media_dir.resolve():
        return src.resolve()  # already in the library folder: no copy
    dest = media_dir / f"{ad_id}{src.suffix.lower()}"
    if dest.exists() and sha256_of(dest) != sha:
        dest = media_dir / f"{ad_id}-{sha[:8]}{src.suffix.lower()}"
    return dest


def add_ad(catalog: Path, src: Path, details: AdDetails = AdDetails()) -> AddResult:
    try:
        kind = media_kind(src)
        info = probe_media(src, check_audio=True)
    except CatalogMediaError as exc:
        raise LibraryError(f"{exc}; nothing was added.") from exc
    doc = CatalogDocument.open(catalog)
    sha = sha256_of(src)
    existing = _same_file_entry(doc, src, sha)
    if existing is not None:
        return AddResult(existing, False, src, info)
    explicit = details.ad_id is not None
    ad_id = _free_id(doc, slugify(details.ad_id or src.stem), explicit)
    if explicit and ad_id != details.ad_id:
        raise LibraryError(f"ad id '{details.ad_id}' is not valid; use lower-case letters, digits, - and _.")
    dest = _library_path(doc, src, ad_id, sha)
    thumb = doc.base / "thumbnails" / f"{ad_id}.jpg"
    created: list[Path] = []
    try:
        if dest != src.resolve() and not dest.exists():
            atomic_copy(src, dest)
            created.append(dest)
        if write_thumbnail(dest, kind, thumb):
            created.append(thumb)
        fields: dict[str, object] = {
            "id": ad_id,
            "media": dest.relative_to(doc.base.resolve()).as_posix()
            if dest.is_relative_to(doc.base.resolve())
            else str(dest),
            "advertiser": details.advertiser or "unassigned",
            "campaign": details.campaign or ad_id,
            "title": details.title or src.stem.replace("_", " ").replace("-", " "),
        }
        if details.description:
            fields["description"] = details.description
        fields["subjects"] = []
        if thumb in created:
            fields["thumbnail"] = f"thumbnails/{thumb.name}"
        fields["sha256"] = sha
        fields["media_info"] = {
            k: v
            for k, v in (
                ("duration_s", None if info.duration_s is None else round(info.duration_s, 3)),
                ("width", info.width),
                ("height", info.height),
                ("fps", None if info.fps is None else round(info.fps, 3)),
                ("codec", info.codec),
                ("audio", info.audio),
            )
            if v is not None
        }
        doc.append(fields)
        doc.save()
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        raise
    log.info("added %s as ad %s", src, ad_id)
    return AddResult(ad_id, True, dest, info)


def remove_ad(catalog: Path, ad_id: str, *, delete_media: bool = False) -> Path | None:
    """Drop the entry (and its thumbnail); the media file goes too only if asked and unshared."""
    doc = CatalogDocument.open(catalog)
    entry = doc.remove(ad_id)
    if entry is None:
        raise LibraryError(f"there is no ad '{ad_id}' in {catalog}.")
    doc.save()
    thumb = entry.get("thumbnail")
    if thumb:
        (doc.base / str(thumb)).unlink(missing_ok=True)
    media = doc.base / str(entry.get("media", ""))
    if delete_media and media.is_file():
        shared = any(doc.base / str(e.get("media", "")) == media for e in doc.entries())
        if not shared:
            media.unlink()
            return media
    return None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long for the file system: not there either way
        return False


def list_ads(catalog: Path) -> tuple[LibraryRow, ...]:
    """The catalog's ads as the player reads them (its bounded parser and schema; no edit tree)."""
    if not catalog.exists():
        return ()
    spec = load_model(catalog, CatalogFile)
    base = catalog.resolve().parent
    rows = []
    for entry in spec.ads:
        media = base / entry.media
        try:
            kind = media_kind(media).value
        except CatalogMediaError:
            kind = "unsupported"
        info_duration = entry.media_info.duration_s if entry.media_info else None
        duration = info_duration if kind == MediaKind.VIDEO.value else entry.duration_s
        rows.append(
            LibraryRow(
                ad_id=entry.id,
                media=str(entry.media),
                kind=kind,
                duration_s=None if duration is None else float(duration),
                advertiser=entry.advertiser,
                campaign=entry.campaign,
                subjects=tuple(entry.subjects),
                auto_subjects=tuple((a.id, a.score) for a in entry.auto_subjects),
                media_present=_is_file(media),
            )
        )
    return tuple(rows)
