"""Read untrusted pages: clean text, canonical URLs, language, and event metadata."""
