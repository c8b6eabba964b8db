"""Fuzz budget and execution counts: a few seconds per target in `make test`, longer in `make fuzz`.

GITOPS_BOT_FUZZ_EXAMPLES sets examples per target (default 150); the counts are printed at the end.
"""

import copy
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("GITOPS_BOT_FUZZ_EXAMPLES", "150"))
EXECUTIONS: Counter[str] = Counter()
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

Json = Any
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
JSON: st.SearchStrategy[Json] = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


def _paths(value: Json, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out += _paths(child, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, example: Json) -> Json:
    """A real payload with one to three subtrees replaced by arbitrary JSON (or deleted)."""
    doc = copy.deepcopy(example)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        if not path:
            doc = draw(JSON)
            continue
        parent = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.booleans()) and isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent[path[-1]] = draw(JSON)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation moved this path
    return doc


def bodies(example: Json) -> st.SearchStrategy[bytes]:
    """Request bodies: mutated real payloads, arbitrary JSON, arbitrary bytes."""
    return st.one_of(
        mutated(example).map(lambda d: json.dumps(d).encode()),
        JSON.map(lambda d: json.dumps(d).encode()),
        st.binary(max_size=200),
    )


def examples(path: Path) -> list[Json]:
    """The recorded examples of a contract file (a list, or one object)."""
    data = json.loads(path.read_text())
    return data if isinstance(data, list) else [data]
