"""Brand and product words in on-screen text, matched character by character.

Most brands are words the sentence model has never seen ("Stayfree", "Kissan"), and OCR misreads
letters ("Gatorad", "edigree"). Each vocabulary entry and each run of one to three OCR tokens is
turned into character trigrams (with word-boundary marks), weighted by TF-IDF over the vocabulary,
and compared by cosine similarity: a near miss still scores high, a different word scores low.
Pure numpy; the vocabulary is data (``vocabulary.yaml``), not learned.

Not every word says as much: "mortgage" or "Heineken" name a subject, "play" or "fresh" fit several.
An entry listed under several subjects is shared between them (each gets 1/k of it), and the words
of the vocabulary's ``generic`` list count only ``GENERIC_WEIGHT`` (an IDF-like discount that is
written down, because 14 subject lists are too few documents to estimate one).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from scipy.sparse import csc_matrix

from classifier.subjects.ocr import TextLine

VOCABULARY_FILE = Path(__file__).with_name("vocabulary.yaml")
MIN_SIMILARITY = 0.72  # cosine of trigram vectors counted as a match
EXACT_ONLY_UP_TO = 4  # entries this short must match exactly ("tea" is not "team")
MAX_WINDOW = 3  # tokens joined when looking for multi-word entries ("coca cola", "cocacola")
GENERIC_WEIGHT = 0.3  # weight of a word on the vocabulary's ``generic`` list ("new", "play", "fresh")
DECAY = 0.5  # the k-th strongest entry of one subject counts DECAY**k: several hits add up, slowly
MAX_COUNTED = 4  # entries counted per subject
GENERIC_KEY = "generic"
PARTIAL_WEIGHT = 0.5  # "CALVIN" alone for "calvin klein": the first word of a multi-word entry
MIN_PARTIAL = 5  # letters a first word needs to stand for its entry
_TOKEN = re.compile(r"[a-z0-9&+]+")


def normalise(text: str) -> str:
    """Lower case, accents dropped, ``ä`` -> ``a``: OCR and typography vary, letters do not."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def squash(text: str) -> str:
    return "".join(_TOKEN.findall(normalise(text)))


def trigrams(key: str) -> list[str]:
    padded = f"^{key}$"
    return [padded[i : i + 3] for i in range(len(padded) - 2)]


@dataclass(frozen=True)
class WordMatch:
    subject_ids: tuple[str, ...]  # the subjects whose vocabulary lists the entry
    entry: str  # the vocabulary entry
    seen: str  # what OCR read
    similarity: float
    confidence: float  # the OCR line's recognition score
    weight: float = 1.0  # how much the entry says about each of its subjects (see the module doc)

    @property
    def strength(self) -> float:
        return self.similarity * self.confidence * self.weight


def load_vocabulary(path: Path = VOCABULARY_FILE) -> dict[str, tuple[str, ...]]:
    """Subject id -> its words; the ``generic`` key holds the words that count little anywhere."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: dict[str, tuple[str, ...]] = {}
    for subject, spec in data.items():
        words = spec.get("words", []) if isinstance(spec, dict) else spec
        out[str(subject)] = tuple(str(w) for w in words or ())
    return out


def first_words(
    entries: Mapping[str, tuple[tuple[str, ...], str]], generic: set[str]
) -> dict[str, tuple[tuple[str, ...], str]]:
    """First words of multi-word entries ("calvin" of "calvin klein"), each owned by every subject
    whose entries start with it, for the words that are not entries or generic words themselves.
    Ads often print only part of a name (a logo's first word, a line break)."""
    out: dict[str, tuple[tuple[str, ...], str]] = {}
    for owners, entry in entries.values():
        tokens = _TOKEN.findall(normalise(entry))
        if len(tokens) < 2 or not owners:
            continue
        head = tokens[0]
        if len(head) < MIN_PARTIAL or head in entries or head in generic:
            continue
        known, first = out.get(head, ((), entry))
        out[head] = (tuple(dict.fromkeys((*known, *owners))), first)
    return out


class Lexicon:
    """Per-subject vocabularies as one TF-IDF trigram matrix."""

    def __init__(self, vocabulary: Mapping[str, Sequence[str]]) -> None:
        generic = {squash(w) for w in vocabulary.get(GENERIC_KEY, ())}
        vocabulary = {k: v for k, v in vocabulary.items() if k != GENERIC_KEY}
        entries: dict[str, tuple[tuple[str, ...], str]] = {}  # key -> (subjects listing it, entry)
        for subject, words in vocabulary.items():
            for word in words:
                key = squash(word)
                if len(key) < 2:
                    continue
                owners, first = entries.get(key, ((), word))
                if subject not in owners:
                    entries[key] = ((*owners, subject), first)
        for key in generic - set(entries):
            if len(key) >= 2:
                entries[key] = ((), key)  # a common word: read, so that it fuzzy-matches nothing else
        partial = first_words(entries, generic)
        for key, (owners, entry) in partial.items():
            entries[key] = (owners, entry)
        self._keys = list(entries)
        self._owners = [entries[k] for k in self._keys]
        self._weights = [
            (GENERIC_WEIGHT if k in generic else PARTIAL_WEIGHT if k in partial else 1.0)
            / max(1, len(entries[k][0]))
            for k in self._keys
        ]
        grams = sorted({g for k in self._keys for g in trigrams(k)})
        self._gram_index = {g: i for i, g in enumerate(grams)}
        df = np.zeros(len(grams))
        for key in self._keys:
            for g in set(trigrams(key)):
                df[self._gram_index[g]] += 1
        self._idf = np.log((1 + len(self._keys)) / (1 + df)) + 1.0
        # Entries x trigrams, sparse and stored by column: a query touches only its own trigrams'
        # columns (thousands of entries, a dozen trigrams per word).
        rows, cols, vals = [], [], []
        for row, key in enumerate(self._keys):
            idx, v = self._vector(key)
            rows += [row] * len(idx)
            cols += idx.tolist()
            vals += v.tolist()
        self._columns = csc_matrix(
            (np.asarray(vals, np.float32), (rows, cols)), shape=(len(self._keys), len(grams))
        )
        self._exact = {k: i for i, k in enumerate(self._keys)}

    @classmethod
    def default(cls) -> Lexicon:
        return cls(load_vocabulary())

    def _vector(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """The key's unit TF-IDF trigram vector as (trigram columns, values), over the trigrams the
        vocabulary has."""
        weights: dict[int, float] = {}
        for g in trigrams(key):
            i = self._gram_index.get(g)
            if i is not None:
                weights[i] = weights.get(i, 0.0) + float(self._idf[i])
        idx = np.fromiter(weights, np.int64, len(weights))
        v = np.fromiter(weights.values(), np.float32, len(weights))
        norm = float(np.sqrt(np.sum(v * v)))
        return idx, v / norm if norm > 0 else v

    def _similarities(self, key: str) -> np.ndarray:
        idx, v = self._vector(key)
        if len(idx) == 0:
            return np.zeros(len(self._keys), np.float32)
        return np.asarray(self._columns[:, idx] @ v).ravel()

    def _candidates(self, text: str) -> list[tuple[str, str]]:
        tokens = _TOKEN.findall(normalise(text))
        out = []
        for n in range(1, MAX_WINDOW + 1):
            for i in range(len(tokens) - n + 1):
                key = "".join(tokens[i : i + n])
                if len(key) >= 3:
                    out.append((key, " ".join(tokens[i : i + n])))
        return out

    def match(self, lines: Sequence[TextLine]) -> list[WordMatch]:
        """The best vocabulary entry for each OCR token run that resembles one, strongest first."""
        if not self._keys:
            return []
        best: dict[str, WordMatch] = {}
        nearest: dict[str, tuple[int, float]] = {}  # the same words recur on several frames
        for line in lines:
            for key, seen in self._candidates(line.text):
                exact = self._exact.get(key)
                if exact is not None:
                    index, similarity = exact, 1.0
                else:
                    if key not in nearest:
                        sims = self._similarities(key)
                        nearest[key] = (int(np.argmax(sims)), float(sims.max()))
                    index, similarity = nearest[key]
                    short = len(self._keys[index]) <= EXACT_ONLY_UP_TO or len(key) <= EXACT_ONLY_UP_TO
                    if short or similarity < MIN_SIMILARITY:
                        continue
                subjects, entry = self._owners[index]
                if not subjects:
                    continue
                found = WordMatch(subjects, entry, seen, similarity, line.confidence, self._weights[index])
                previous = best.get(entry)
                if previous is None or found.strength > previous.strength:
                    best[entry] = found
        return sorted(best.values(), key=lambda m: -m.strength)

    @staticmethod
    def subject_evidence(matches: Sequence[WordMatch], subject_ids: Sequence[str]) -> np.ndarray:
        """S-vector: per subject, its matched entries' strengths, strongest first, each DECAY times
        the one before (MAX_COUNTED at most): one brand name outweighs three loose words."""
        out = np.zeros(len(subject_ids), np.float32)
        column = {s: i for i, s in enumerate(subject_ids)}
        per_subject: dict[str, list[float]] = {}
        for m in matches:
            for subject in m.subject_ids:
                if subject in column:
                    per_subject.setdefault(subject, []).append(m.strength)
        for subject, strengths in per_subject.items():
            ranked = sorted(strengths, reverse=True)[:MAX_COUNTED]
            out[column[subject]] = sum(v * DECAY**k for k, v in enumerate(ranked))
        return out
