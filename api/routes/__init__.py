"""One router per resource of the REST API (mounted under /api/v1)."""
