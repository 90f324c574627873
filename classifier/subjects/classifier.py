"""The subject classifier: frames -> image model -> zero-shot subjects, plus ad text and store examples."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classifier.subjects import zeroshot
from classifier.subjects.frames import sample_frames
from classifier.subjects.head import SubjectHead
from classifier.subjects.imagenet import ImageEncoder, class_texts
from classifier.subjects.ocr import OcrEngine
from classifier.subjects.text import TextEncoder
from classifier.subjects.types import Frame, MediaEmbedding, Subject, SubjectScores

log = logging.getLogger(__name__)

# How much the ad's own words count against the pictures when both are present. Titles and
# descriptions are written to say what is advertised, so they get a large share.
TEXT_WEIGHT = 0.45
# On-screen text alone is noisier (slogans, prices), so it counts for less.
OCR_ONLY_WEIGHT = 0.25


class SubjectClassifier:
    """Scores creatives against a taxonomy. Build once; ``classify`` is then cheap per file."""

    def __init__(
        self,
        subjects: Sequence[Subject],
        *,
        image_encoder: ImageEncoder | None = None,
        text_encoder: TextEncoder | None = None,
        ocr: OcrEngine | None = None,
        max_frames: int = 8,
        short_side: int = 224,
    ) -> None:
        if not subjects:
            raise ValueError("the taxonomy has no subjects.")
        self.subjects = tuple(subjects)
        self.subject_ids = tuple(s.subject_id for s in self.subjects)
        self.max_frames = max_frames
        self.short_side = short_side
        self._images = image_encoder or ImageEncoder()
        self._texts = text_encoder or TextEncoder()
        self._ocr = ocr
        self._index, phrase_texts = zeroshot.PhraseIndex.build(self.subjects)
        self._phrases = self._texts.encode_cached(phrase_texts)
        class_vectors = self._texts.encode_cached(class_texts())
        self._affinity = zeroshot.class_affinity(class_vectors, self._phrases, self._index)

    @property
    def restricted_ids(self) -> tuple[str, ...]:
        return tuple(s.subject_id for s in self.subjects if s.restricted)

    def frames(self, path: Path) -> list[Frame]:
        return sample_frames(path, max_frames=self.max_frames, short_side=self.short_side)

    def embed(self, path: Path) -> MediaEmbedding:
        return self._images.embed(self.frames(path))

    def image_scores(self, embedding: MediaEmbedding) -> np.ndarray:
        # Per-frame subject opinions averaged: a frame of people talking and a packshot each count
        # once, instead of letting one frame's confident class swamp the mean of probabilities.
        per_frame = np.stack([zeroshot.image_scores(p, self._affinity) for p in embedding.frame_probs])
        return zeroshot.normalise(per_frame.mean(axis=0))

    def text_scores(self, text: str) -> np.ndarray | None:
        text = " ".join(text.split())
        if not text:
            return None
        vector = self._texts.encode([text])[0]
        return zeroshot.text_scores(vector, self._phrases, self._index)

    def score(
        self,
        embedding: MediaEmbedding,
        *,
        text: str = "",
        screen_text: str = "",
        head: SubjectHead | None = None,
    ) -> SubjectScores:
        """Combine picture, ad text and (optionally) the store's learned head into one ranking."""
        scores = self.image_scores(embedding)
        if head is not None:
            scores = head.refine(scores, self.subject_ids, embedding.features)
        words = " ".join(p for p in (text, screen_text) if p.strip())
        weight = TEXT_WEIGHT if text.strip() else OCR_ONLY_WEIGHT
        scores = zeroshot.combine(scores, self.text_scores(words), weight)
        return SubjectScores.from_vector(self.subject_ids, scores)

    def read_screen_text(self, path: Path) -> str:
        if self._ocr is None:
            return ""
        return self._ocr.read(path)

    def classify(
        self,
        path: Path,
        *,
        title: str = "",
        description: str = "",
        head: SubjectHead | None = None,
    ) -> SubjectScores:
        embedding = self.embed(path)
        text = ". ".join(p.strip() for p in (title, description) if p.strip())
        return self.score(embedding, text=text, screen_text=self.read_screen_text(path), head=head)
