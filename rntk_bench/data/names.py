"""Suggestions for mistyped names (datasets, suites, collections), the same everywhere.

>>> suggest("Cofee", ["Coffee", "Car", "GunPoint"])
"; did you mean 'Coffee'?"
>>> suggest("zzz", ["Coffee"])
''
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

MAX_SUGGESTIONS = 3
"""At most this many names are suggested."""

CUTOFF = 0.6
"""Similarity (:class:`difflib.SequenceMatcher` ratio, case ignored) a name needs to be suggested."""


def close_names(name: str, choices: Iterable[str], n: int = MAX_SUGGESTIONS) -> list[str]:
    """The names in ``choices`` closest to ``name``, best first.

    Parameters
    ----------
    name : str
        The name that was not found.
    choices : iterable of str
        The valid names.
    n : int
        At most this many names.

    Returns
    -------
    list of str
        Names equal to ``name`` but for case first, then the others by :class:`difflib.SequenceMatcher`
        similarity with case ignored (at least :data:`CUTOFF`; ties in the order of ``choices``). ``name``
        itself is never suggested.
    """
    options = [choice for choice in dict.fromkeys(choices) if choice != name]
    by_lower: dict[str, list[str]] = {}
    for choice in options:
        by_lower.setdefault(choice.lower(), []).append(choice)
    same_but_case = by_lower.get(name.lower(), [])
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(name.lower())
    scored = []
    for position, lower in enumerate(by_lower):
        matcher.set_seq1(lower)
        if matcher.real_quick_ratio() >= CUTOFF and matcher.quick_ratio() >= CUTOFF and matcher.ratio() >= CUTOFF:
            scored.append((-matcher.ratio(), position, lower))
    close = [lower for _, _, lower in sorted(scored)]
    found = same_but_case + [choice for lower in close for choice in by_lower[lower]]
    return list(dict.fromkeys(found))[:n]


def suggest(name: str, choices: Iterable[str]) -> str:
    """A hint to append to an "unknown name" message: ``"; did you mean 'Coffee'?"``, or ``""``.

    Parameters
    ----------
    name : str
        The name that was not found.
    choices : iterable of str
        The valid names (a list, a dict's keys, ...).

    Returns
    -------
    str
        ``"; did you mean 'A'?"``, ``"; did you mean 'A' or 'B'?"`` or ``"; did you mean 'A', 'B' or 'C'?"``
        (see :func:`close_names` for the order), or the empty string when no name is close.

    Examples
    --------
    >>> f"unknown dataset 'gunpoint'{suggest('gunpoint', ['GunPoint', 'Coffee'])}"
    "unknown dataset 'gunpoint'; did you mean 'GunPoint'?"
    """
    names = [repr(found) for found in close_names(name, choices)]
    if not names:
        return ""
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return f"; did you mean {listed}?"
