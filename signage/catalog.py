"""The ad catalog (``ads/catalog.yaml``): a human-edited YAML list of ads.

Validation happens in two layers: the file's structure (pydantic, located errors that stop the
load) and each ad's media (missing, corrupt, unsupported): a bad media file only leaves that ad
out, with one sentence in ``Catalog.skipped``, so one broken creative never blanks the screen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from signage.domain import Ad, Catalog, MediaKind
from signage.media import CatalogMediaError, media_kind, probe_media
from signage.reloader import Reloader
from signage.strictmodel import StrictModel
from signage.yamlconf import ConfigPath, load_model, no_control_characters

log = logging.getLogger(__name__)

AdId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
# play.advertiser and play.campaign are VARCHAR(128) (signage/store/models.py): longer names
# would validate here and then fail on every write of a play.
StoredName = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(no_control_characters)]


class AutoSubject(StrictModel):
    id: str
    score: Annotated[float, Field(ge=0, le=1)]


class MediaInfo(StrictModel):
    duration_s: Annotated[float, Field(ge=0)] | None = None
    width: Annotated[int, Field(ge=0)] | None = None
    height: Annotated[int, Field(ge=0)] | None = None
    fps: Annotated[float, Field(ge=0)] | None = None
    codec: str | None = None
    audio: bool | None = None


class AdEntry(StrictModel):
    id: AdId
    media: ConfigPath
    advertiser: StoredName
    campaign: StoredName
    title: str = ""
    description: str = ""
    subjects: list[str] = Field(default=[])
    auto_subjects: list[AutoSubject] = Field(default=[])
    restricted: bool = False
    duration_s: Annotated[float, Field(gt=0, le=3600)] | None = None
    weight: Annotated[float, Field(gt=0)] = 1.0
    valid_from: date | None = None
    valid_until: date | None = None
    cost_per_play: Annotated[float, Field(ge=0)] | None = None
    sha256: str | None = None
    media_info: MediaInfo | None = None
    thumbnail: ConfigPath | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> AdEntry:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self

    def effective_subjects(self) -> tuple[str, ...]:
        """What a person confirmed wins; otherwise what the tagger suggested."""
        if self.subjects:
            return tuple(self.subjects)
        return tuple(s.id for s in self.auto_subjects)


class CatalogFile(StrictModel):
    standby: ConfigPath | None = None
    ads: list[AdEntry] = Field(default=[])

    @model_validator(mode="after")
    def _unique_ids(self) -> CatalogFile:
        seen: set[str] = set()
        for entry in self.ads:
            if entry.id in seen:
                raise ValueError(f"ad id {entry.id!r} is used twice; ids must be unique")
            seen.add(entry.id)
        return self


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long, a permission problem: not usable either way
        return False


def _resolve(base: Path, path: Path) -> Path:
    if path.is_absolute():
        return path
    try:
        return (base / path).resolve()
    except (OSError, RuntimeError):  # a symlink loop: the path as written (it will not play)
        return base / path


def entry_to_ad(entry: AdEntry, base: Path, *, default_image_s: float, probe: bool) -> Ad:
    """Build the runtime Ad; raises CatalogMediaError when the media cannot be played.

    Without ``probe`` the file is only required to exist and the duration comes from the entry.
    """
    media = _resolve(base, entry.media)
    kind = media_kind(media)
    duration = entry.duration_s
    if probe:
        info = probe_media(media)
        if kind is MediaKind.VIDEO:
            duration = info.duration_s
    elif not media.is_file():
        raise CatalogMediaError(f"media file {media} does not exist")
    return declared_ad(entry, media, kind, duration, default_image_s)


def declared_ad(
    entry: AdEntry, media: Path, kind: MediaKind, duration_s: float | None, default_image_s: float
) -> Ad:
    """The Ad as the catalog entry declares it (no media check)."""
    if duration_s is None and entry.media_info is not None:
        duration_s = entry.media_info.duration_s
    return Ad(
        ad_id=entry.id,
        media=media,
        kind=kind,
        duration_s=float(duration_s or entry.duration_s or default_image_s),
        advertiser=entry.advertiser,
        campaign=entry.campaign,
        title=entry.title,
        description=entry.description,
        subjects=entry.effective_subjects(),
        restricted=entry.restricted,
        valid_from=entry.valid_from,
        valid_until=entry.valid_until,
        weight=entry.weight,
        cost_per_play=entry.cost_per_play,
    )


def declared_catalog(path: Path, *, default_image_s: float = 8.0) -> Catalog:
    """Every ad the file lists, playable or not: what a rule check needs (names, not media)."""
    spec = load_model(path, CatalogFile)
    base = path.resolve().parent
    ads = []
    for entry in spec.ads:
        media = _resolve(base, entry.media)
        try:
            kind = media_kind(media)
        except CatalogMediaError:
            kind = MediaKind.VIDEO
        ads.append(declared_ad(entry, media, kind, None, default_image_s))
    standby = _resolve(base, spec.standby) if spec.standby else None
    return Catalog(ads=tuple(ads), standby=standby)


def load_catalog(path: Path, *, probe: bool = True, default_image_s: float = 8.0) -> Catalog:
    """Load and check the catalog. Structural errors raise ConfigError; bad media skip one ad."""
    spec = load_model(path, CatalogFile)
    base = path.resolve().parent
    ads: list[Ad] = []
    skipped: list[str] = []
    for entry in spec.ads:
        try:
            ads.append(entry_to_ad(entry, base, default_image_s=default_image_s, probe=probe))
        except CatalogMediaError as exc:
            skipped.append(f"ad {entry.id!r} left out: {exc}")
        except OSError as exc:  # e.g. a file name too long for the file system
            skipped.append(
                f"ad {entry.id!r} left out: media file {entry.media} cannot be read ({exc.strerror})"
            )
    for note in skipped:
        log.warning("%s", note)
    standby = _resolve(base, spec.standby) if spec.standby else None
    named = tuple(_resolve(base, entry.media) for entry in spec.ads) + ((standby,) if standby else ())
    if standby is not None and not _is_file(standby):
        log.warning("standby slide %s is missing; a generated standby screen will be shown", standby)
        standby = None
    return Catalog(ads=tuple(ads), standby=standby, skipped=tuple(skipped), media_files=named)


def catalog_reloader(path: Path, *, default_image_s: float, clock: Callable[[], float]) -> Reloader[Catalog]:
    """The catalog of ``path``, kept at its last good version and reloaded when it or its media change.

    Until a first version loads it is empty, which shows the standby slide.
    """
    return Reloader(
        "catalog",
        [path],
        lambda: load_catalog(path, default_image_s=default_image_s),
        empty=Catalog(ads=()),
        names=lambda catalog: catalog.media_files,
        clock=clock,
        describe=lambda catalog: f"{len(catalog.ads)} playable ad(s), {len(catalog.skipped)} left out",
    )
