"""The subject classifier: what a creative shows and says -> calibrated subject probabilities.

Evidence is gathered once per media file (``evidence``): representative frames through the ImageNet
backbone, and the end card plus the most different scenes through OCR. Scoring (``score``) is cheap
and pure: it turns the evidence, and the catalog's title/description when there are any, into one
number per subject and signal, and ``fusion.FusionModel`` weighs them. Nothing is read from the
file's name: two copies of one file under different names get the same answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from classifier.subjects import zeroshot
from classifier.subjects.frames import SampledMedia, sample_media
from classifier.subjects.fusion import LOG_FLOOR, FusionModel
from classifier.subjects.head import SubjectHead
from classifier.subjects.imagenet import ImageEncoder, class_texts
from classifier.subjects.lexicon import Lexicon, WordMatch
from classifier.subjects.ocr import OcrEngine, TextLine
from classifier.subjects.text import DIM, TextEncoder
from classifier.subjects.types import MediaEmbedding, SampledFrame, Subject, SubjectScores

log = logging.getLogger(__name__)

TEXT_SCALE = 10.0  # cosine similarities differ by hundredths; scaled so that weights are near 1
MAX_TEXT_LINES = 24
DEFAULT_MIN_CONFIDENCE = 0.5
_LETTER = re.compile(r"[^\W\d_]{2,}")


@dataclass(frozen=True)
class Evidence:
    """What was seen and read in one creative; computed once, cached by the media's checksum."""

    embedding: MediaEmbedding
    lines: tuple[TextLine, ...] = ()
    duration_s: float = 0.0


@dataclass(frozen=True)
class Classification:
    scores: SubjectScores  # calibrated probabilities, best first
    contributions: dict[str, dict[str, float]] = field(default_factory=dict)  # subject -> signal -> push
    screen_text: tuple[str, ...] = ()
    words: tuple[WordMatch, ...] = ()

    @property
    def confidence(self) -> float:
        top = self.scores.top
        return top.score if top else 0.0

    def abstains(self, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> bool:
        return self.confidence < min_confidence


def screen_text(lines: Sequence[TextLine]) -> str:
    """The lines worth reading, biggest first (headlines and brand names before small print)."""
    kept = [ln for ln in sorted(lines, key=lambda ln: -ln.height) if _LETTER.search(ln.text)]
    return ". ".join(ln.text for ln in kept[:MAX_TEXT_LINES])


def head_input(embedding: MediaEmbedding, text_vector: np.ndarray | None) -> np.ndarray:
    """The learned head's input: picture features and the on-screen text's embedding, unit length."""
    text = text_vector if text_vector is not None else np.zeros(DIM, np.float32)
    x = np.concatenate([embedding.features, text]).astype(np.float32)
    return x / max(float(np.linalg.norm(x)), 1e-8)


class SubjectClassifier:
    """Scores creatives against a taxonomy. Build once; ``classify`` is then cheap per file."""

    def __init__(
        self,
        subjects: Sequence[Subject],
        *,
        model: FusionModel | None = None,
        image_encoder: ImageEncoder | None = None,
        text_encoder: TextEncoder | None = None,
        ocr: OcrEngine | None = None,
        lexicon: Lexicon | None = None,
        max_frames: int = 8,
        short_side: int = 224,
        text_side: int = 640,
        text_frames: int = 3,
    ) -> None:
        if not subjects:
            raise ValueError("the taxonomy has no subjects.")
        self.subjects = tuple(subjects)
        self.subject_ids = tuple(s.subject_id for s in self.subjects)
        self.model = model or FusionModel.zero_shot()
        self.max_frames, self.short_side = max_frames, short_side
        self.text_side, self.text_frames = (text_side, text_frames) if ocr is not None else (0, 0)
        self._images = image_encoder or ImageEncoder()
        self._texts = text_encoder or TextEncoder()
        self._ocr = ocr
        self._lexicon = lexicon or Lexicon.default()
        self._index, phrase_texts = zeroshot.PhraseIndex.build(self.subjects)
        self._phrases = self._texts.encode_cached(phrase_texts)
        class_vectors = self._texts.encode_cached(class_texts())
        self._affinity = zeroshot.class_affinity(class_vectors, self._phrases, self._index)

    @property
    def restricted_ids(self) -> tuple[str, ...]:
        return tuple(s.subject_id for s in self.subjects if s.restricted)

    @property
    def variant(self) -> str:
        """Sampling and OCR settings: cached evidence from other settings is not reused."""
        return f"f{self.max_frames}s{self.short_side}t{self.text_side}x{self.text_frames}"

    def sample(self, path: Path) -> SampledMedia:
        return sample_media(
            path,
            max_frames=self.max_frames,
            short_side=self.short_side,
            text_side=self.text_side,
            text_frames=self.text_frames,
        )

    def frames(self, path: Path) -> list[SampledFrame]:
        return self.sample(path).frames

    def embed_frames(self, frames: list[SampledFrame]) -> MediaEmbedding:
        return self._images.embed(frames)

    def read_text(self, frames: list[SampledFrame]) -> tuple[TextLine, ...]:
        return tuple(self._ocr.read(frames)) if self._ocr is not None else ()

    def evidence(self, path: Path) -> Evidence:
        media = self.sample(path)
        return Evidence(self.embed_frames(media.frames), self.read_text(media.text_frames), media.duration_s)

    def image_scores(self, embedding: MediaEmbedding) -> np.ndarray:
        # Per-frame subject opinions averaged: a frame of people talking and a packshot each count once.
        per_frame = np.stack([zeroshot.image_scores(p, self._affinity) for p in embedding.frame_probs])
        return zeroshot.normalise(per_frame.mean(axis=0))

    def text_vector(self, text: str) -> np.ndarray | None:
        text = " ".join(text.split())
        return self._texts.encode([text])[0] if text else None

    def _similarity(self, vector: np.ndarray) -> np.ndarray:
        sims = zeroshot.subject_similarity(vector[None, :], self._phrases, self._index)[0]
        return (TEXT_SCALE * sims).astype(np.float32)

    def signals(
        self, evidence: Evidence, *, text: str = ""
    ) -> tuple[dict[str, np.ndarray], tuple[WordMatch, ...]]:
        """One number per subject for each signal present (see ``fusion.SIGNALS``)."""
        n = len(self.subject_ids)
        out = {"image": np.log(self.image_scores(evidence.embedding) + LOG_FLOOR).astype(np.float32)}
        on_screen = screen_text(evidence.lines)
        screen_vector = self.text_vector(on_screen)
        out["screen_text"] = self._similarity(screen_vector) if screen_vector is not None else np.zeros(n)
        words = tuple(self._lexicon.match(evidence.lines))
        out["screen_words"] = Lexicon.subject_evidence(words, self.subject_ids)
        head = self.model.head
        if head is not None:
            out["learned"] = head.signal(head_input(evidence.embedding, screen_vector), self.subject_ids)
        catalog_vector = self.text_vector(text)
        if catalog_vector is not None:
            catalog_line = TextLine(text, 1.0, 1.0, 0.0)
            catalog_words = tuple(self._lexicon.match([catalog_line]))
            out["catalog_text"] = self._similarity(catalog_vector)
            out["catalog_words"] = Lexicon.subject_evidence(catalog_words, self.subject_ids)
            words += catalog_words
        return out, words

    def score(self, evidence: Evidence, *, text: str = "", head: SubjectHead | None = None) -> Classification:
        """Calibrated probabilities from all signals; ``head`` is the store's own confirmed examples."""
        signals, words = self.signals(evidence, text=text)
        probs, terms = self.model.probabilities(signals)
        if head is not None:
            probs = head.refine(probs, self.subject_ids, evidence.embedding.features)
        contributions = {
            s: {name: round(float(t[i]), 3) for name, t in terms.items()}
            for i, s in enumerate(self.subject_ids)
        }
        return Classification(
            SubjectScores.from_vector(self.subject_ids, probs.astype(np.float64)),
            contributions,
            tuple(ln.text for ln in evidence.lines),
            words,
        )

    def classify(
        self, path: Path, *, title: str = "", description: str = "", head: SubjectHead | None = None
    ) -> Classification:
        text = ". ".join(p.strip() for p in (title, description) if p.strip())
        return self.score(self.evidence(path), text=text, head=head)
