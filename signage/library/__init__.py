"""The ad library: media probing, checksums, copies, thumbnails and round-trip catalog edits."""
