"""The one way a config file is read: line-aware YAML, then a typed model, every problem at once.

Why one loader: each file kind once had its own hand-written reader, and they disagreed (some
stopped at the first problem, one had no unknown-key check). Here a file is parsed by
``yaml_lines`` (keys given twice caught), validated by its pydantic model (unknown keys refused),
and each problem is located by walking the error's path back through the parsed document::

    claims.yaml line 31: field compare.key_colums: unknown key (did you mean 'key_columns'?)

Checks across fields come in the same round as the fields' own problems: a validator raising
``Located`` reports each problem at its own path below the model, and a file model's
``cross_checks`` runs even when some fields are wrong, over the fields that did validate alone
(a check skips what it needs but lacks), so one run lists a bad field and a bad combination.

Plain Python and pydantic only, no Airflow: the CLI, the DAG factories and tests share it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, ValidationInfo, model_validator

from recon_operators.config.locate import dotted, line_at, resolve, wording
from recon_operators.config.problems import ConfigError, ConfigProblem
from recon_operators.yaml_lines import LineMap, YamlFileError, duplicate_keys, parse_yaml, plain, read_yaml

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class ConfigModel(BaseModel):
    """Base of every config file model: unknown keys refused, no silent type coercion, frozen."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    # Hints for unknown keys that belong elsewhere (``{"policy": "belongs to the recon stages"}``).
    key_hints: ClassVar[Mapping[str, str]] = {}
    # An item of a list of these is named by this key in error paths (``prefixes[P1]``, else ``[#2]``).
    item_id: ClassVar[str | None] = None

    @classmethod
    def subject(cls, document: Mapping[str, Any]) -> str | None:
        """What a file's problems are about (``cohort 'A'``), named from the raw file; None: nothing."""
        return None

    @classmethod
    def cross_checks(cls, document: Mapping[str, Any], valid: Mapping[str, Any]) -> Iterable[tuple[Sequence[Any], str]]:
        """Problems across top-level fields, as (path, message); ``valid`` holds each field that
        validated on its own (all of them when the file is valid), ``document`` the raw file."""
        return ()


class SourcedModel(ConfigModel):
    """A file model that remembers where it was read: checks across files name the other file's line."""

    _origin: str | None = PrivateAttr(None)
    _document: Any = PrivateAttr(None)

    @model_validator(mode="after")
    def _remember_source(self, info: ValidationInfo) -> SourcedModel:
        self._origin = (info.context or {}).get("origin")
        self._document = (info.context or {}).get("document")
        return self

    @property
    def path(self) -> str | None:
        return self._origin

    def line(self, *loc: Any) -> int | None:
        """The line of ``loc`` in the file this was read from."""
        return line_at(self._document, loc)


class Located(ValueError):
    """Problems found across fields, each at its path: raised by a validator (paths below its
    model) or by a ``build`` step (paths from the file's top)."""

    def __init__(self, problems: Iterable[tuple[Sequence[Any], str]]):
        self.problems = list(problems)
        super().__init__("; ".join(message for _, message in self.problems))


def _problems(
    model: type[BaseModel],
    document: Any,
    origin: str,
    exc: ValidationError,
    problem: type[ConfigProblem],
    subject: str | None,
    base: Sequence[Any] = (),
) -> list[ConfigProblem]:
    """Each pydantic error located; a ``Located`` raised by a validator becomes one problem per path."""
    found: list[tuple[tuple[Any, ...], str]] = []
    bad: set[tuple[Any, ...]] = set()  # values wrong on their own (an id there cannot name its item)
    missing: set[tuple[Any, ...]] = set()
    for error in exc.errors():
        # A mapping's bad key is located at the key itself (pydantic adds "[key]" after it).
        loc = (
            *base,
            *(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-") or p == "[key]")),
        )
        ctx = error.get("ctx") or {}
        if error["type"] == "too_short" and len(error.get("input") or ()) >= ctx.get("min_length", 0):
            continue  # a tuple counts only its valid items: a bad item is already reported, not a short list
        raised = ctx.get("error")
        if isinstance(raised, Located):
            found += [((*loc, *sub), resolve(message, document, loc)) for sub, message in raised.problems]
        else:
            found.append((loc, wording(model, document, {**error, "loc": loc})))
            bad.add(loc)
            if error["type"] == "missing":
                missing.add(loc)
    # A key missing only because it is misspelt is reported once, as the typo.
    typos = {(*loc[:-1], m.split("'")[1]) for loc, m in found if m.startswith("unknown key (did you mean")}
    return [
        problem(origin, line_at(document, loc), dotted(loc, model, document, frozenset(bad)) or None, message, subject)
        for loc, message in found
        if not (loc in missing and loc in typos)
    ]


def _valid_fields(model: type[BaseModel], document: LineMap) -> dict[str, Any]:
    """Each top-level field that validates on its own (defaults for those left out)."""
    valid: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in document:
            if not field.is_required():
                valid[name] = field.get_default(call_default_factory=True)
            continue
        try:
            alone = model.__pydantic_validator__.validate_assignment(
                model.model_construct(), name, plain(document[key])
            )
        except ValidationError:
            continue
        valid[name] = getattr(alone, name)
    return valid


def validate_document(model: type[M], document: Any, origin: str, error: type[ConfigError] = ConfigError) -> M:
    """``document`` (from ``yaml_lines``) as ``model``; every problem, located, in one ``error``:
    the fields', the duplicate keys' and the model's ``cross_checks`` over the fields that validated."""
    raw = plain(document)
    subject = model.subject(raw) if issubclass(model, ConfigModel) and isinstance(raw, dict) else None
    problems = [error.problem(origin, d.line, d.path, d.message, subject) for d in duplicate_keys(document)]
    try:
        result: M | None = model.model_validate(raw, context={"origin": origin, "document": document})
    except ValidationError as exc:
        problems += _problems(model, document, origin, exc, error.problem, subject)
        result = None
    if issubclass(model, ConfigModel) and isinstance(document, LineMap):
        valid = dict(result) if result is not None else _valid_fields(model, document)
        problems += [
            error.problem(
                origin,
                line_at(document, loc),
                dotted(loc, model, document) or None,
                resolve(message, document, ()),
                subject,
            )
            for loc, message in model.cross_checks(raw, valid)
        ]
    if problems:
        raise error(sorted(problems, key=lambda p: p.line or 0))
    return result  # type: ignore[return-value]


def load_config(
    model: type[M],
    path: str | Path,
    what: str = "config file",
    *,
    build: Callable[[M], T] | None = None,
    error: type[ConfigError] = ConfigError,
) -> Any:
    """Read ``path`` and validate it as ``model`` (then ``build`` it, when given: problems it
    finds raise ``Located``); ``error`` lists every problem with its line."""
    return _validated(model, lambda: read_yaml(path, what), str(path), what, build, error)


def parse_config(
    model: type[M],
    text: str,
    origin: str,
    what: str = "config file",
    *,
    build: Callable[[M], T] | None = None,
    error: type[ConfigError] = ConfigError,
) -> Any:
    """``load_config`` for YAML text already in hand (``origin`` names it in every problem):
    what tests and callers that generate a file's text use, through the same checks."""
    return _validated(model, lambda: parse_yaml(text, origin), origin, what, build, error)


def _validated(
    model: type[M],
    read: Callable[[], Any],
    origin: str,
    what: str,
    build: Callable[[M], T] | None,
    error: type[ConfigError],
) -> Any:
    """The one way from YAML to a model, for a file and for text alike."""
    try:
        document = read()
    except YamlFileError as exc:
        raise error([error.problem(origin, exc.line, None, exc.message)]) from None
    if not isinstance(document, LineMap):
        raise error(
            [
                error.problem(
                    origin,
                    None,
                    None,
                    f"a {what} is a mapping of " + ", ".join(f.alias or n for n, f in model.model_fields.items()),
                )
            ]
        )
    parsed = validate_document(model, document, origin, error)
    if build is None:
        return parsed
    try:
        return build(parsed)
    except Located as exc:
        subject = model.subject(plain(document)) if issubclass(model, ConfigModel) else None
        raise error(
            sorted(
                (
                    error.problem(
                        origin,
                        line_at(document, loc),
                        dotted(loc, model, document) or None,
                        resolve(message, document, ()),
                        subject,
                    )
                    for loc, message in exc.problems
                ),
                key=lambda p: p.line or 0,
            )
        ) from None


def load_folder(
    model: type[M], folder: str | Path, what: str, error: type[ConfigError] = ConfigError
) -> tuple[list[M], list[ConfigProblem]]:
    """Every ``*.yaml``/``*.yml`` file of ``folder`` as ``model``: the valid ones, and every
    problem of the others (the caller adds its checks across files, then raises)."""
    directory = Path(folder)
    if not directory.is_dir():
        raise error([error.problem(str(directory), None, None, f"{what.removesuffix(' file')} folder not found")])
    loaded: list[M] = []
    problems: list[ConfigProblem] = []
    for path in sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()):
        try:
            loaded.append(load_config(model, path, what, error=error))
        except ConfigError as exc:
            problems.extend(exc.problems)  # type: ignore[arg-type]
    return loaded, problems
