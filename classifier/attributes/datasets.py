"""Dataset listing, seeded stratified splits, and the one-off detect+crop cache for training.

UTKFace: ``AGE_GENDER_RACE_DATE*.jpg`` (gender 0 male, 1 female); malformed names are skipped.
FER2013: one sub-folder per emotion. Crops are made once by :class:`classifier.crop.FaceCropper` (exactly the
run-time crop) and cached as uint8 arrays under a scratch folder, never in the repository.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from classifier.attributes.network import EMOTIONS
from classifier.crop import CROP_SIZE, FaceCropper, whole_image_crop

log = logging.getLogger(__name__)

_UTK_NAME = re.compile(r"^(\d{1,3})_([01])_(\d)_")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
# Age bands of the audience snapshot; used for stratifying and for the fairness tables.
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("child", 0, 12),
    ("teen", 13, 17),
    ("18-24", 18, 24),
    ("25-34", 25, 34),
    ("35-44", 35, 44),
    ("45-54", 45, 54),
    ("55-64", 55, 64),
    ("65+", 65, 200),
)
SEED = 20261121  # the default seed of every split and of training
CACHE_VERSION = 1  # bump when the crop geometry changes, so stale caches are not reused


@dataclass(frozen=True)
class UtkSample:
    path: Path
    age: int
    female: bool


@dataclass(frozen=True)
class FerSample:
    path: Path
    emotion: int  # index into EMOTIONS


@dataclass(frozen=True)
class Split:
    train: tuple[int, ...]
    calibration: tuple[int, ...]
    test: tuple[int, ...]


def age_band(age: float) -> str:
    for name, low, high in AGE_BANDS:
        if age < high + 1 and age >= low:
            return name
    return AGE_BANDS[-1][0]


def list_utkface(folder: Path) -> list[UtkSample]:
    """Every correctly named UTKFace image in ``folder``, sorted so splits do not depend on the file system."""
    if not folder.is_dir():
        raise FileNotFoundError(f"UTKFace folder {folder} does not exist.")
    samples: list[UtkSample] = []
    skipped = 0
    for path in sorted(folder.iterdir()):
        if not path.name.lower().endswith(IMAGE_SUFFIXES):
            continue
        match = _UTK_NAME.match(path.name)
        if match is None or int(match.group(1)) > 120:
            skipped += 1
            continue
        samples.append(UtkSample(path, int(match.group(1)), match.group(2) == "1"))
    if skipped:
        log.warning("skipped %d UTKFace files with malformed names in %s", skipped, folder)
    return samples


def fer_folder(folder: Path, part: str) -> Path:
    """Accept the FER2013 root (with ``train``/``validation``) or a folder of emotion sub-folders."""
    return folder / part if (folder / part).is_dir() else folder


def list_fer(folder: Path) -> list[FerSample]:
    if not folder.is_dir():
        raise FileNotFoundError(f"FER2013 folder {folder} does not exist.")
    samples: list[FerSample] = []
    for index, name in enumerate(EMOTIONS):
        sub = folder / name
        if not sub.is_dir():
            continue
        files = sorted(p for p in sub.iterdir() if p.name.lower().endswith(IMAGE_SUFFIXES))
        samples += [FerSample(p, index) for p in files]
    if not samples:
        names = ", ".join(EMOTIONS)
        raise FileNotFoundError(f"FER2013 folder {folder} has no images in sub-folders named {names}.")
    return samples


def stratified_split(
    strata: Sequence[str], test_fraction: float, calibration_fraction: float, seed: int
) -> Split:
    """Per stratum, a seeded shuffle; the first part is test, the next calibration, the rest train."""
    by_stratum: dict[str, list[int]] = defaultdict(list)
    for index, key in enumerate(strata):
        by_stratum[key].append(index)
    rng = np.random.default_rng(seed)
    train: list[int] = []
    cal: list[int] = []
    test: list[int] = []
    for key in sorted(by_stratum):
        members = np.array(by_stratum[key])
        rng.shuffle(members)
        n_test = round(len(members) * test_fraction)
        n_cal = round(len(members) * calibration_fraction)
        test += members[:n_test].tolist()
        cal += members[n_test : n_test + n_cal].tolist()
        train += members[n_test + n_cal :].tolist()
    return Split(tuple(sorted(train)), tuple(sorted(cal)), tuple(sorted(test)))


def split_utkface(
    samples: Sequence[UtkSample],
    seed: int = SEED,
    test_fraction: float = 0.15,
    calibration_fraction: float = 0.05,
) -> Split:
    strata = [f"{age_band(s.age)}/{int(s.female)}" for s in samples]
    return stratified_split(strata, test_fraction, calibration_fraction, seed)


def split_fer_train(
    samples: Sequence[FerSample], seed: int = SEED, calibration_fraction: float = 0.05
) -> Split:
    """FER's own ``validation`` folder is the test set; here the train folder gives train + calibration."""
    return stratified_split([str(s.emotion) for s in samples], 0.0, calibration_fraction, seed)


def read_rgb(path: Path) -> np.ndarray:
    """Any image file as H x W x 3 uint8 RGB (grayscale is repeated), or ValueError naming the file."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # grayscale files come back as 3 equal channels
    if image is None:
        raise ValueError(f"cannot read image {path}.")
    return np.ascontiguousarray(image[:, :, ::-1])


def crop_all(
    paths: Sequence[Path], size: int = CROP_SIZE, desc: str = "crop", cropper: FaceCropper | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Detect+crop every image; returns (N x size x size x 3 uint8, found-a-face flags). Unreadable
    files give a grey crop and are logged, so one bad file does not stop a run."""
    own = cropper is None
    cropper = cropper or FaceCropper(size=size)
    crops = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    found = np.zeros(len(paths), dtype=bool)
    try:
        for i, path in enumerate(tqdm(paths, desc=desc, unit="img", mininterval=2.0)):
            try:
                crops[i], found[i] = cropper(read_rgb(path))
            except ValueError as exc:
                log.warning("%s", exc)
                crops[i] = whole_image_crop(np.full((size, size, 3), 128, np.uint8), size)
    finally:
        if own:
            cropper.close()
    return crops, found


def cached_crops(paths: Sequence[Path], cache_dir: Path, name: str, size: int = CROP_SIZE) -> np.ndarray:
    """``crop_all`` once per list of files; later runs (and ``--resume``) read the cache."""
    listing = f"{CACHE_VERSION}|{size}|" + "\n".join(map(str, paths))
    key = hashlib.sha256(listing.encode()).hexdigest()
    file = cache_dir / f"{name}_{size}_{key[:16]}.npz"
    if file.is_file():
        with np.load(file) as data:
            return data["crops"]
    cache_dir.mkdir(parents=True, exist_ok=True)
    crops, found = crop_all(paths, size, desc=f"detect+crop {name}")
    log.info(
        "%s: face detected in %d of %d images (the rest use the whole image)",
        name,
        int(found.sum()),
        len(found),
    )
    tmp = file.with_suffix(".tmp.npz")
    np.savez(tmp, crops=crops, found=found)
    tmp.replace(file)
    return crops
