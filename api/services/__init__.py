"""Service functions shared by the JSON routes and the HTML pages: each takes a session and the
acting user, enforces authorisation and rules, writes the audit log, and raises
:class:`~api.services.errors.ServiceError` subclasses with a human (Chinese) message."""
