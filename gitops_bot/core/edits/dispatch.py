"""One entry for every manifest format: chosen by file extension, bytes in, bytes out (pure).

Refuse, never damage: a file over the size cap, not UTF-8, or not parseable is refused before
anything is read from it; a UTF-8 BOM is set aside and put back; only the value's own characters
change, so CRLF line ends, comments and every other byte stay as they were.
"""

from collections.abc import Callable
from dataclasses import dataclass

from gitops_bot.core.edits import hcl_format, json_format, yaml_format
from gitops_bot.core.edits.tree import Node, Outcome, Resolved, Scalar, Segment, parse_path, resolve
from gitops_bot.core.errors import YamlPathError
from gitops_bot.core.templates import expand

BOM = "\ufeff"
DEFAULT_MAX_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Format:
    """How one file format is parsed, written and (for HCL) double-checked."""

    name: str
    parse: Callable[[str], list[Node]]
    render: Callable[[Scalar, str], str]
    verify: Callable[[str, tuple[Segment, ...], str], None] | None = None


YAML = Format("YAML", yaml_format.parse, yaml_format.render)
JSON = Format("JSON", json_format.parse, json_format.render)
HCL = Format("HCL", hcl_format.parse, hcl_format.render, hcl_format.verify)
FORMATS = {".yaml": YAML, ".yml": YAML, ".json": JSON, ".tfvars": HCL, ".tf": HCL}


def format_for(file: str) -> Format:
    """The format a file name says; YamlPathError for an extension the bot cannot edit."""
    for suffix, fmt in FORMATS.items():
        if file.endswith(suffix):
            return fmt
    raise YamlPathError(f"{file}: unknown format (want one of {', '.join(FORMATS)})")


def decode(raw: bytes, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> tuple[str, bool]:
    """The text without its BOM, and whether it had one; YamlPathError when too big or not UTF-8."""
    if len(raw) > max_bytes:
        raise YamlPathError(f"{len(raw)} bytes is over the {max_bytes}-byte cap (repo.max_file_bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise YamlPathError(f"not UTF-8 (byte {e.start}); refusing to rewrite it") from e
    return (text[1:], True) if text.startswith(BOM) else (text, False)


def resolve_text(
    fmt: Format, text: str, path: str, bindings: dict[str, str], *, named: bool
) -> list[Resolved]:
    """Every resolution of a path template in a decoded text, each found value double-checked."""
    segs = parse_path(path)
    out = []
    for res in resolve(fmt.parse(text), segs, bindings, named=named):
        if res.outcome is Outcome.FOUND and fmt.verify is not None and res.scalar is not None:
            try:
                fmt.verify(text, parse_path(expand(path, res.bindings)), res.scalar.value)
            except YamlPathError as e:
                res = Resolved(Outcome.REFUSED, res.bindings, reason=str(e))
        out.append(res)
    return out


def resolve_file(
    file: str,
    raw: bytes | None,
    path: str,
    bindings: dict[str, str],
    *,
    named: bool,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> list[Resolved]:
    """Resolutions of a path template in a file's bytes (None: the file does not exist)."""
    if raw is None:
        return [Resolved(Outcome.NOT_NAMED, bindings, reason=f"{file} does not exist")]
    try:
        fmt = format_for(file)
        text, _ = decode(raw, max_bytes=max_bytes)
        results = resolve_text(fmt, text, path, bindings, named=named)
    except (YamlPathError, ValueError) as e:
        return [Resolved(Outcome.REFUSED, bindings, reason=f"{file}: {e}")]
    return [r if r.outcome is Outcome.FOUND else _at(file, r) for r in results]


def read_field(
    file: str, raw: bytes | None, path: str, *, named: bool, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> Resolved:
    """The one value a fully expanded path names (or why there is none)."""
    results = resolve_file(file, raw, path, {}, named=named, max_bytes=max_bytes)
    if len(results) == 1:
        return results[0]
    return Resolved(Outcome.REFUSED, reason=f"{file}: {path} resolves {len(results)} ways")


def _at(file: str, res: Resolved) -> Resolved:
    return Resolved(res.outcome, res.bindings, res.scalar, f"{file}: {res.reason}" if res.reason else file)


def replace_field(
    file: str, raw: bytes, path: str, new: str, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> bytes:
    """The file with only the value at path rewritten; YamlPathError (nothing written) otherwise."""
    fmt = format_for(file)
    text, bom = decode(raw, max_bytes=max_bytes)
    found = read_field(file, raw, path, named=True, max_bytes=max_bytes)
    if found.outcome is not Outcome.FOUND or found.scalar is None:
        raise YamlPathError(found.reason or f"{file}: {path} not found")
    old = found.scalar
    if old.shared:
        raise YamlPathError(f"{file}: {path} is a YAML anchor other keys alias; refusing to change them too")
    try:
        out = text[: old.start] + fmt.render(old, new) + text[old.end :]
    except YamlPathError as e:
        raise YamlPathError(f"{file}: {path}: {e}") from e
    data = ((BOM if bom else "") + out).encode("utf-8")
    check = read_field(file, data, path, named=True, max_bytes=max(max_bytes, len(data)))
    if check.outcome is not Outcome.FOUND or check.scalar is None or check.scalar.value != new:
        raise YamlPathError(f"{file}: rewriting {path} did not read back as {new!r} ({check.reason})")
    return data
