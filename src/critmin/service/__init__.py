"""The framework registry: the allies' shared record as a multi-party web service.

Importing this package does nothing; :func:`critmin.service.app.create_app` builds the app.
"""
