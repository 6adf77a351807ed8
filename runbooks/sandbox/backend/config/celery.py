"""Stand-in so ``celery -A config`` reads true to the real layout; the sandbox has no Celery."""
