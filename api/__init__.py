"""The web application: REST API under /api/v1, authentication, server-rendered UI."""
