"""Frame sources (webcam, file, stream, simulated scene) and the capture thread."""
