"""Projects of interest: the embedded pipeline of real non-China projects and user additions.

``load_projects()`` returns the validated pipeline as a DataFrame (one row per project,
commodity and stage); ``read_projects(path)`` validates a user CSV or YAML file of the same
schema (:class:`~critmin.projects.schema.Project`); ``load_financing()`` lists the cited
financing already committed to them and ``additionality()`` the assumed effect of support
on their success and timing.
"""

from critmin.projects.financing import (
    COUNTED_DEFAULT,
    FINANCING_STATUSES,
    FinancingStatus,
    additionality,
    load_financing,
)
from critmin.projects.pipeline import EMBEDDED_AS_OF, load_projects, read_projects
from critmin.projects.schema import INSTRUMENTS, STATUSES, Project

__all__ = [
    "COUNTED_DEFAULT",
    "EMBEDDED_AS_OF",
    "FINANCING_STATUSES",
    "INSTRUMENTS",
    "STATUSES",
    "FinancingStatus",
    "Project",
    "additionality",
    "load_financing",
    "load_projects",
    "read_projects",
]
