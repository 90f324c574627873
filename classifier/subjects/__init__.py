"""Ad-subject classifier: which subjects (food, drinks, alcohol, ...) a creative is about, offline on CPU."""

from classifier.subjects.types import MediaEmbedding, Subject, SubjectScore, SubjectScores

__all__ = ["MediaEmbedding", "Subject", "SubjectScore", "SubjectScores"]
