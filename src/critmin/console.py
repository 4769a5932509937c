"""Keep native solvers from writing to the console (their banners corrupt JSON output)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """Silence what C/C++ code writes straight to file descriptor 1 (HiGHS prints its banner
    when an instance is created or a model passed, before ``output_flag`` applies); Python's
    own buffer is flushed first."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no file descriptor 1: nothing to protect
        yield
        return
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)
