"""Suite-wide test plumbing: the order in which files are handed to the xdist workers.

``make test`` runs ``pytest -n 3 --dist loadfile``: each worker takes a whole file, then the next in
collection order (``--no-loadscope-reorder`` in pyproject.toml keeps that order). A minutes-long
file handed out near the end keeps one worker busy while the others have long finished, so the files
holding a test marked ``slow`` go first, then those marked ``ui`` (Kivy under Xvfb, seconds to
minutes each), then the rest, many short files that let the workers finish together.
"""

from __future__ import annotations

import pytest

#: file rank by the markers of its tests: the lowest rank of any of its tests counts
RANK_BY_MARKER = (("slow", 0), ("ui", 1))
REST = 2


def _rank(item: pytest.Item) -> int:
    for marker, rank in RANK_BY_MARKER:
        if item.get_closest_marker(marker) is not None:
            return rank
    return REST


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slowest files first; a file's tests stay together and in their order, and so do the files of
    one rank (a stable sort on the file's rank)."""
    file_rank: dict[str, int] = {}
    for item in items:
        path = str(item.path)
        file_rank[path] = min(file_rank.get(path, REST), _rank(item))
    items.sort(key=lambda item: file_rank[str(item.path)])
