"""pydantic validation errors as `file (document N): key: problem` lines, with "did you mean" (pure)."""

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError


def key_of(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as the path a person would write: `spec.limits.perAgent`, `fields[0]`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list, tuple, dict, typing.Annotated):
        for arg in typing.get_args(annotation):
            if (found := _model_in(arg)) is not None:
                return found
    return None


def allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys the model accepts at a location (for suggestions)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return []
        if isinstance(part, int):
            continue
        info = current.model_fields.get(part)
        current = _model_in(info.annotation) if info is not None else None
    return [info.alias or name for name, info in current.model_fields.items()] if current else []


def _problem(model: type[BaseModel], err: Any) -> tuple[str, str]:
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden":
        allowed = allowed_keys(model, loc[:-1])
        near = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]!r}?" if near else f"; allowed: {', '.join(allowed)}"
        return key_of(loc), f"unknown key {loc[-1]!r}{hint}"
    if err["type"] == "literal_error":
        near = difflib.get_close_matches(str(err.get("input")), _expected(err), n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        return key_of(loc), f"{err['msg']}, got {err.get('input')!r}{hint}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "missing":
        msg = "is required"
    return key_of(loc), msg


def _expected(err: Any) -> list[str]:
    text = str((err.get("ctx") or {}).get("expected", ""))
    return [part.strip(" '\"") for part in text.replace(" or ", ",").split(",") if part.strip()]


def problems(model: type[BaseModel], error: ValidationError) -> list[tuple[str, str]]:
    """(key, problem) for every error pydantic found, in document order."""
    return [_problem(model, err) for err in error.errors()]
