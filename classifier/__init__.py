"""The ML package: MediaPipe face adapter, face-attribute network, ad-subject classifier.

It never imports ``signage``: the runtime depends on it, not the other way round.
"""
