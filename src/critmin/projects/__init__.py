"""Projects of interest: the embedded pipeline of real non-China projects and user additions.

``load_projects()`` returns the validated pipeline as a DataFrame (one row per project,
commodity and stage); ``read_projects(path)`` validates a user CSV or YAML file of the same
schema (:class:`~critmin.projects.schema.Project`).
"""

from critmin.projects.pipeline import EMBEDDED_AS_OF, load_projects, read_projects
from critmin.projects.schema import INSTRUMENTS, STATUSES, Project

__all__ = ["EMBEDDED_AS_OF", "INSTRUMENTS", "STATUSES", "Project", "load_projects", "read_projects"]
