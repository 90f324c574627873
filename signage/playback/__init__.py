"""Full-screen playback: pygame owns the window; VLC decodes video."""
