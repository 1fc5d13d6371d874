"""Every public name comes from exactly one face (a package's ``__init__`` with ``__all__``).

In the manner of trio's ``test_exports``: a name a face lists must exist there and be that
package's own (defined in it, or in a sub-package below it), and no object is offered by two
faces side by side, so that a reader always knows where a name lives. The top faces,
``crawler`` (the Python API) and ``pipelines``, gather names from faces below them by design.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import pkgutil
from types import ModuleType

import pytest

ROOTS = ("crawler", "pipelines")
GATHERING_FACES = frozenset(ROOTS)
"""Faces that re-export names from the faces below them (the user's entry points)."""


def _faces() -> list[ModuleType]:
    faces = []
    for root in ROOTS:
        package = importlib.import_module(root)
        faces.append(package)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{root}."):
            if info.ispkg:
                faces.append(importlib.import_module(info.name))
    return faces


FACES = _faces()


def _home(face: ModuleType, name: str) -> str | None:
    """The module an exported class or function was defined in (None for other values:
    constants and type aliases do not say where they were made)."""
    value = getattr(face, name)
    if not (inspect.isclass(value) or inspect.isfunction(value)):
        return None
    return str(value.__module__)


@pytest.mark.parametrize("face", FACES, ids=lambda face: face.__name__)
def test_every_name_a_face_lists_is_there_and_its_own(face: ModuleType) -> None:
    listed = getattr(face, "__all__", None)
    if listed is None:  # a face that offers nothing: no name of its own to list
        own = [
            name
            for name in vars(face)
            if not name.startswith("_") and _home(face, name) == face.__name__
        ]
        assert own == [], f"{face.__name__} offers {own} without __all__"
        return
    assert len(listed) == len(set(listed)), f"{face.__name__}.__all__ repeats a name"
    for name in listed:
        assert hasattr(face, name), f"{face.__name__}.__all__ lists {name}, which is not there"
        home = _home(face, name)
        if home is None or face.__name__ in GATHERING_FACES:
            continue
        assert home == face.__name__ or home.startswith(f"{face.__name__}."), (
            f"{face.__name__} offers {name} from {home}: import it from its own face"
        )


def test_no_object_is_offered_by_two_faces() -> None:
    offered: dict[int, list[str]] = {}
    for face in FACES:
        if face.__name__ in GATHERING_FACES:
            continue
        for name in getattr(face, "__all__", ()):
            if _home(face, name) is not None:
                offered.setdefault(id(getattr(face, name)), []).append(f"{face.__name__}.{name}")
    # A sub-package's face may pass a name up to its parent's face: one line of descent.
    twice = [
        places
        for places in offered.values()
        if len(places) > 1 and not _one_line_of_descent(places)
    ]
    assert twice == []


def _one_line_of_descent(places: list[str]) -> bool:
    faces = sorted(place.rsplit(".", 1)[0] for place in places)
    return all(inner.startswith(f"{outer}.") for outer, inner in itertools.pairwise(faces))
