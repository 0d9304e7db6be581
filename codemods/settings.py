"""What a run does: its settings (rules, fixes, options), their resolution
from the command line and ``[tool.asyncmend]``, and the per-file options."""

from __future__ import annotations

import functools
import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:
    from .rule import Rule

DEFAULT_TARGET_VERSION = (3, 9)
DEFAULT_LINE_LENGTH = 88
SUPPORTED_TARGETS = tuple((3, minor) for minor in range(9, 15))


class ConfigError(ValueError):
    """A bad option or configuration value; the message names it."""


@dataclass(frozen=True)
class Settings:
    """What one run does, as the rules see it. Picklable for worker processes."""

    # Codes of the rules to run; ``None`` runs every rule that is not opt-in.
    select: frozenset[str] | None = None
    # Codes whose fixes this run applies; ``None`` applies every fix (the
    # behaviour of a rule run alone as a LibCST codemod).
    apply: frozenset[str] | None = None
    # Whether a fix a safe rule calls unsafe for one finding (it cannot see
    # every use of what it changes) applies too: with ``--unsafe-fixes``,
    # when fixes are only shown, and where ``apply`` is ``None``.
    unsafe_fixes: bool = True
    target_version: tuple[int, int] = DEFAULT_TARGET_VERSION
    line_length: int = DEFAULT_LINE_LENGTH
    # Per-rule options by key, e.g. {"ordering-primitives": [...]}.
    options: Mapping[str, Any] = field(default_factory=dict)
    # Findings, as (code, line, column), whose fix a reviewer declined
    # (``fix --interactive``): still reported, never fixed.
    declined: frozenset[tuple[str, int, int]] = frozenset()
    # What one file cannot see about the others of the run: (file, name,
    # importing file) for a module-level name that another file imports
    # (see codemods.prepare). Rules refuse to rename such a name.
    imported_elsewhere: frozenset[tuple[str, str, str]] = frozenset()
    # (pattern, codes): the rules not run on the files a pattern matches
    # (``.gitignore`` syntax, relative to ``root``), as ruff's
    # ``per-file-ignores``. ``None``: the default (see DEFAULT_PER_FILE_IGNORES).
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] | None = None
    # The directory the patterns are relative to (the configuration's).
    root: str | None = None
    # Which event loop runs a module that imports none ("auto": the project
    # tells; see codemods.analysis.event_loop).
    async_backend: str = "auto"

    def for_file(self, path: str) -> Settings:
        """These settings for the file ``path``, less the rules its
        per-file ignores switch off."""
        patterns = self.per_file_ignores if self.per_file_ignores is not None else DEFAULT_PER_FILE_IGNORES
        if not patterns or path in ("-", "<string>"):
            return self
        relative = os.path.relpath(os.path.abspath(path), self.root or os.getcwd()).replace(os.sep, "/")
        off: set[str] = set()
        for pattern, codes in patterns:
            if _matches(pattern, relative):
                off |= codes
        if not off:
            return self
        select = (self.select if self.select is not None else _every_code()) - off
        return replace(self, select=frozenset(select))

    def importers_of(self, filename: str, name: str) -> list[str]:
        """The other files of the run that import ``name`` from ``filename``."""
        return sorted(i for f, n, i in self.imported_elsewhere if f == filename and n == name)

    def applies(self, code: str, *, unsafe: bool = False) -> bool:
        """Whether this run applies a fix of rule ``code`` (``unsafe``: one
        the rule downgraded for its finding)."""
        return (self.apply is None or code in self.apply) and (not unsafe or self.apply is None or self.unsafe_fixes)

    def declines(self, code: str, line: int, column: int) -> bool:
        return (code, line, column) in self.declined

    def runs(self, code: str) -> bool:
        if self.select is None:
            return code not in _opt_in_codes()
        return code in self.select


def _opt_in_codes() -> frozenset[str]:
    """The codes of the registered opt-in rules (see ``Rule.OPT_IN``)."""
    global _OPT_IN
    if _OPT_IN is None:
        from .rule import rules

        _OPT_IN = frozenset(rule.CODE for rule in rules() if rule.OPT_IN)
    return _OPT_IN


_OPT_IN: frozenset[str] | None = None


@dataclass(frozen=True)
class Options:
    """How a run treats each file (picklable, sent to worker processes)."""

    settings: Settings = field(default_factory=Settings)
    write: bool = False  # write fixed files in place
    diff: bool = False  # compute a unified diff of each change
    edits: bool = False  # attach line edits to each fixed finding
    # Run the rules again on the text the fixes wrote until nothing changes,
    # as `fix` does. False: the findings of the source as read, each with
    # the fix it has there (`check`: every such fix applies to the source
    # a reviewer sees).
    follow_fixes: bool = True
    # Where results are cached (see codemods.source.cache); None: no cache.
    # A run that writes or diffs takes from it only files with nothing to change.
    cache_dir: str | None = None
    # The projects the run's files belong to (codemods.model.project.ProjectIndex):
    # the rules see the modules around a file through them. None: found
    # where a file needs one (see codemods.engine.files.project_for).
    projects: tuple[Any, ...] | None = None
    # Where the project model keeps what it read of each module (by its
    # bytes, so any run may use it); None: nowhere.
    model_cache_dir: str | None = None


# Test files are sequences of steps (set up, act, check): gathering two of
# them runs a check before what it checks. The gather rules skip them.
TEST_FILES = ("test_*.py", "*_test.py", "conftest.py", "tests/", "test/")
DEFAULT_PER_FILE_IGNORES: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (pattern, frozenset({"AM201", "AM202"})) for pattern in TEST_FILES
)


@functools.lru_cache(maxsize=None)
def _spec(pattern: str) -> Any:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines([pattern])


def _matches(pattern: str, relative: str) -> bool:
    """``.gitignore`` matching: a pattern without a slash matches a name at
    any depth; ``tests/`` matches every file under a ``tests`` directory."""
    name = _name_pattern(pattern)
    if name is None:
        return bool(_spec(pattern).match_file(relative))
    parts = relative.split("/")
    if pattern.endswith("/"):
        del parts[-1]  # only a directory matches, and the file is none
    # A match of a directory's name is a match of every file below it.
    return any(name.fullmatch(part) for part in parts)


# A pattern of one name, where ``*`` may stand for any part of it, with or
# without the slash that says it names a directory: every default pattern,
# and most users'. It matches a whole name at any depth, so it is matched
# here, a name at a time, without pathspec (whose import is a tenth of a
# warm run).
_NAME_PATTERN = re.compile(r"(?!\.*/?$)[\w.-]*(?:\*[\w.-]+)*\*?/?")


@functools.lru_cache(maxsize=None)
def _name_pattern(pattern: str) -> re.Pattern[str] | None:
    """What one name must be to match ``pattern``, if the pattern is one name."""
    if not _NAME_PATTERN.fullmatch(pattern):
        return None
    return re.compile("[^/]*".join(re.escape(piece) for piece in pattern.rstrip("/").split("*")))


def _every_code() -> frozenset[str]:
    from .rule import rules

    return frozenset(rule.CODE for rule in rules())


def parse_target_version(value: str) -> tuple[int, int]:
    match = re.fullmatch(r"py3(\d{1,2})", value.strip().lower())
    if match is None or (3, int(match.group(1))) not in SUPPORTED_TARGETS:
        choices = ", ".join(f"py3{minor}" for _, minor in SUPPORTED_TARGETS)
        raise ConfigError(f"unknown target version {value!r} (choose from {choices})")
    return (3, int(match.group(1)))


def resolve_codes(
    selectors: Iterable[str], rules: Iterable[type[Rule]], option: str, *, selecting: bool = False
) -> set[str]:
    """Codes named by selectors: a code (``AM201``), a prefix (``AM2``, ``AM``,
    ``ALL``) or a slug (``sequential-awaits``).

    ``selecting``: the selectors choose what runs (``select``, not
    ``ignore``), so an opt-in rule is chosen only by its own code or slug,
    never by ``ALL`` or a prefix (ruff's ``explicit-preview-rules``): a new
    opt-in rule does not start running under an existing ``select = ["AM3"]``.
    """
    rules = list(rules)
    codes: set[str] = set()
    for raw in selectors:
        selector = raw.strip()
        if not selector:
            continue
        upper, lower = selector.upper(), selector.lower()
        if upper == "ALL":
            matched = {rule.CODE for rule in rules}
        else:
            matched = {rule.CODE for rule in rules if rule.CODE.startswith(upper) or rule.SLUG == lower}
        if not matched:
            known = ", ".join(sorted(rule.CODE for rule in rules))
            raise ConfigError(f"{option}: unknown rule {selector!r} (known: {known})")
        if selecting:
            opt_in = {rule.CODE for rule in rules if rule.OPT_IN and rule.CODE in matched}
            named = {code for code in opt_in if code == upper or _slug(rules, code) == lower}
            matched -= opt_in - named
            if not matched:
                raise ConfigError(
                    f"{option}: {selector!r} names only opt-in rules, which run only when named"
                    f" by code or slug: {', '.join(sorted(opt_in))}"
                )
        codes |= matched
    return codes


def _slug(rules: list[type[Rule]], code: str) -> str:
    return next(rule.SLUG for rule in rules if rule.CODE == code)


def split_selectors(values: Iterable[str]) -> list[str]:
    """``--select AM1,AM2 --select AM3`` -> ["AM1", "AM2", "AM3"]."""
    return [part for value in values for part in value.split(",") if part.strip()]


def build_settings(
    rules: Iterable[type[Rule]],
    *,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    unsafe_fixes: bool = False,
    fix: bool = False,
    preview_fixes: bool = False,
    target_version: tuple[int, int] = DEFAULT_TARGET_VERSION,
    line_length: int = DEFAULT_LINE_LENGTH,
    options: Mapping[str, Any] | None = None,
) -> Settings:
    """Turn command-line and configuration choices into :class:`Settings`.

    ``fix``: the run writes or diffs fixes, so only safe fixes apply, plus
    unsafe ones with ``unsafe_fixes`` (as in ruff, naming a rule in
    ``select`` chooses which rules run, not how bold their fixes are).
    ``preview_fixes``: the run only reports, but computes every fix so that
    it can show it (json, sarif, rdjson).
    """
    from .findings import Safety

    rules = list(rules)
    select = split_selectors(select)
    selected = resolve_codes(select or ["ALL"], rules, "--select", selecting=True)
    selected -= resolve_codes(split_selectors(ignore), rules, "--ignore")
    if fix:
        apply = {
            rule.CODE
            for rule in rules
            if rule.SAFETY is Safety.SAFE or (rule.SAFETY is Safety.UNSAFE and unsafe_fixes)
        }
    elif preview_fixes:
        apply = {rule.CODE for rule in rules if rule.SAFETY is not Safety.NONE}
    else:
        apply = set()
    return Settings(
        select=frozenset(selected),
        apply=frozenset(apply & selected),
        unsafe_fixes=unsafe_fixes or not fix,
        target_version=target_version,
        line_length=line_length,
        options=dict(options or {}),
    )


# -- [tool.asyncmend] ---------------------------------------------------------

# ``async-backend``: which event loop runs a module that imports none.
ASYNC_BACKENDS = ("auto", "asyncio", "trio", "anyio")

# The keys every run understands; each rule adds the keys of its OPTIONS.
CORE_KEYS = (
    "select", "ignore", "unsafe-fixes", "exclude", "force-exclude", "target-version", "line-length", "async-backend",
    "per-file-ignores", "extend-per-file-ignores",
)


@dataclass(frozen=True)
class FileConfig:
    """What a configuration file says; ``None`` where it says nothing."""

    path: str | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    unsafe_fixes: bool | None = None
    exclude: tuple[str, ...] | None = None
    force_exclude: bool | None = None
    target_version: tuple[int, int] | None = None
    line_length: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    # pattern -> codes; ``per-file-ignores`` replaces the default,
    # ``extend-per-file-ignores`` adds to it (as in ruff)
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] | None = None
    extend_per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    async_backend: str | None = None


def _load_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def find_pyproject(paths: Iterable[str], cwd: Path | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` upward from the paths' common directory
    that has a ``[tool.asyncmend]`` table; failing that, the nearest one at all
    (its ``requires-python`` still gives the target version)."""
    cwd = cwd or Path.cwd()
    dirs = []
    for raw in paths:
        path = cwd if raw == "-" else (cwd / raw)
        path = Path(os.path.abspath(path))
        dirs.append(str(path if os.path.isdir(path) else path.parent))
    start = Path(os.path.commonpath(dirs)) if dirs else cwd
    nearest: Path | None = None
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if os.path.isfile(candidate):
            data = _load_toml(candidate)
            if isinstance(data.get("tool"), dict) and "asyncmend" in data["tool"]:
                return candidate
            nearest = nearest or candidate
    return nearest


def load_config(path: Path, rules: Iterable[type[Rule]], *, explicit: bool = False) -> FileConfig:
    """Read and validate ``[tool.asyncmend]`` (or, in a file given with
    ``--config`` that has no ``[tool]`` table, the whole file)."""
    data = _load_toml(path)
    tool = data.get("tool")
    if isinstance(tool, dict) and "asyncmend" in tool:
        table = tool["asyncmend"]
        prefix = "tool.asyncmend."
    elif explicit and path.name != "pyproject.toml" and "tool" not in data:
        table, prefix = data, ""
    else:
        table, prefix = {}, "tool.asyncmend."
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: {prefix.rstrip('.')} must be a table")
    where = f"{path}: {prefix}"
    rules = list(rules)
    rule_options: dict[str, Any] = {}
    owners: dict[str, type[Rule]] = {}
    for rule in rules:
        for key, default in rule.OPTIONS.items():
            rule_options.setdefault(key, default)
            owners.setdefault(key, rule)
    for key in table:
        if key not in CORE_KEYS and key not in rule_options:
            known = ", ".join([*CORE_KEYS, *sorted(rule_options)])
            raise ConfigError(f"{where}{key}: unknown key (known: {known})")

    def codes(key: str) -> tuple[str, ...] | None:
        if key not in table:
            return None
        value = _string_list(table[key], f"{where}{key}")
        resolve_codes(value, rules, f"{where}{key}", selecting=key == "select")
        return tuple(value)

    target = None
    if "target-version" in table:
        value = table["target-version"]
        if not isinstance(value, str):
            raise ConfigError(f"{where}target-version: expected a string such as \"py311\"")
        try:
            target = parse_target_version(value)
        except ConfigError as exc:
            raise ConfigError(f"{where}target-version: {exc}") from None
    elif isinstance(data.get("project"), dict) and "requires-python" in data["project"]:
        target = target_from_requires_python(str(data["project"]["requires-python"]))
    line_length = None
    if "line-length" in table:
        value = table["line-length"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}line-length: expected a positive integer, got {value!r}")
        line_length = value
    backend = table.get("async-backend")
    if backend is not None and backend not in ASYNC_BACKENDS:
        raise ConfigError(f"{where}async-backend: expected one of {', '.join(map(repr, ASYNC_BACKENDS))}, got {backend!r}")
    flags: dict[str, bool | None] = {}
    for key in ("unsafe-fixes", "force-exclude"):
        flags[key] = table.get(key)
        if key in table and not isinstance(table[key], bool):
            raise ConfigError(f"{where}{key}: expected true or false, got {table[key]!r}")
    unsafe = flags["unsafe-fixes"]
    options = {
        key: _check_option(owners[key], key, table[key], default, f"{where}{key}")
        for key, default in rule_options.items()
        if key in table
    }
    def per_file(key: str) -> tuple[tuple[str, frozenset[str]], ...] | None:
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, dict):
            raise ConfigError(f"{where}{key}: expected a table of pattern = [codes]")
        return tuple(
            (str(pattern), frozenset(resolve_codes(_string_list(selectors, f"{where}{key}.{pattern}"), rules, f"{where}{key}.{pattern}")))
            for pattern, selectors in value.items()
        )

    return FileConfig(
        path=str(path),
        select=codes("select"),
        ignore=codes("ignore"),
        unsafe_fixes=unsafe,
        exclude=tuple(_string_list(table["exclude"], f"{where}exclude")) if "exclude" in table else None,
        force_exclude=flags["force-exclude"],
        target_version=target,
        line_length=line_length,
        options=options,
        per_file_ignores=per_file("per-file-ignores"),
        extend_per_file_ignores=per_file("extend-per-file-ignores") or (),
        async_backend=backend,
    )


def _string_list(value: Any, name: str) -> list[str]:
    # A single string is accepted where a list is expected: select = "AM1".
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ConfigError(f"{name}: expected a list of strings, got {value!r}")


def _check_option(rule: type[Rule], key: str, value: Any, default: Any, name: str) -> Any:
    """A rule option must have the type of its default, and a value the rule
    accepts (:meth:`~codemods.rule.Rule.check_option`): checked when the file
    is read, so that a bad one is one error naming the key rather than a
    failure in every file."""
    value = _check_option_type(value, default, name)
    problem = rule.check_option(key, value)
    if problem is not None:
        raise ConfigError(f"{name}: {problem}")
    return value


def _check_option_type(value: Any, default: Any, name: str) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{name}: expected true or false, got {value!r}")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{name}: expected an integer, got {value!r}")
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{name}: expected a number, got {value!r}")
    if isinstance(default, str):
        if isinstance(value, str):
            return value
        raise ConfigError(f"{name}: expected a string, got {value!r}")
    if isinstance(default, (list, tuple, frozenset, set)):
        items = _string_list(value, name) if all(isinstance(d, str) for d in default) else value
        if not isinstance(items, list):
            raise ConfigError(f"{name}: expected a list, got {value!r}")
        return type(default)(items) if not isinstance(default, list) else items
    if isinstance(default, dict):
        if isinstance(value, dict):
            return value
        raise ConfigError(f"{name}: expected a table, got {value!r}")
    return value


_SPECIFIER = re.compile(r"^\s*(>=|~=|==|>)\s*3\.(\d+)")


def target_from_requires_python(spec: str) -> tuple[int, int] | None:
    """The oldest supported Python that ``requires-python`` allows, or None.

    ``>=3.10`` and ``~=3.10`` and ``==3.10.*`` give (3, 10). ``>3.10`` still
    allows 3.10.1, so it gives (3, 10) too. Below the oldest supported target,
    the oldest; unparseable, None (the default applies).
    """
    lows = []
    for part in spec.split(","):
        match = _SPECIFIER.match(part)
        if match:
            lows.append(int(match.group(2)))
    if not lows:
        return None
    minor = max(lows)
    minor = max(SUPPORTED_TARGETS[0][1], min(minor, SUPPORTED_TARGETS[-1][1]))
    return (3, minor)


@dataclass(frozen=True)
class Resolved:
    """What the command line and the configuration file decide for a run."""

    settings: Settings
    exclude: tuple[str, ...]
    # The configuration file in use (a pyproject.toml or --config FILE).
    config_path: Path | None = None
    unsafe_fixes: bool = False
    # Whether --unsafe-fixes was on the command line (a hint then names it).
    unsafe_from_flag: bool = False
    force_exclude: bool = False

    @property
    def project_root(self) -> Path | None:
        """The directory of the configuration in use: where the cache lives."""
        return self.config_path.parent if self.config_path is not None else None


def resolve(
    rules: Iterable[type[Rule]],
    paths: Iterable[str],
    **kwargs: Any,
) -> tuple[Settings, tuple[str, ...]]:
    """The settings and exclude patterns of :func:`resolve_all`."""
    resolved = resolve_all(rules, paths, **kwargs)
    return resolved.settings, resolved.exclude


def resolve_all(
    rules: Iterable[type[Rule]],
    paths: Iterable[str],
    *,
    fix: bool,
    preview_fixes: bool = False,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    unsafe_fixes: bool | None = None,
    exclude: Iterable[str] = (),
    force_exclude: bool | None = None,
    target_version: str | None = None,
    line_length: int | None = None,
    config_file: str | None = None,
    stdin_filename: str | None = None,
    cwd: Path | None = None,
) -> Resolved:
    """Command-line values over the configuration file over the defaults.

    A ``--select`` on the command line replaces the file's ``select`` and
    ``ignore`` (naming a rule there runs it); otherwise the command line's
    ``--ignore`` adds to the file's.
    """
    rules = list(rules)
    cwd = cwd or Path.cwd()
    if config_file:
        path = cwd / config_file
        if not path.is_file():
            raise ConfigError(f"--config: no such file: {config_file}")
        found: Path | None = Path(os.path.abspath(path))
        config = load_config(path, rules, explicit=True)
    else:
        # Source from stdin is configured as the file it stands for; a path
        # that does not exist is reported later, by discovery.
        where = []
        for raw in paths:
            if raw == "-":
                raw = stdin_filename or "-"
            # os.path, not Path: False, not PermissionError, inside a directory
            # this user may not search (discovery reports that path by name).
            where.append(raw if raw == "-" or os.path.exists(cwd / raw) else ".")
        found = find_pyproject(where, cwd)
        config = load_config(found, rules) if found else FileConfig()
    select, ignore = list(select), list(ignore)
    if not select:
        select = list(config.select or ())
        ignore = [*(config.ignore or ()), *ignore]
    from_flag = bool(unsafe_fixes)
    if unsafe_fixes is None:
        unsafe_fixes = bool(config.unsafe_fixes)
    if target_version is not None:
        target = parse_target_version(target_version)
    else:
        target = config.target_version or DEFAULT_TARGET_VERSION
    if line_length is not None and line_length < 1:
        raise ConfigError(f"--line-length: expected a positive integer, got {line_length}")
    settings = build_settings(
        rules,
        select=select,
        ignore=ignore,
        unsafe_fixes=unsafe_fixes,
        fix=fix,
        preview_fixes=preview_fixes,
        target_version=target,
        line_length=line_length or config.line_length or DEFAULT_LINE_LENGTH,
        options=config.options,
    )
    base = config.per_file_ignores if config.per_file_ignores is not None else DEFAULT_PER_FILE_IGNORES
    settings = replace(
        settings,
        per_file_ignores=(*base, *config.extend_per_file_ignores),
        root=str(Path(config.path).parent) if config.path else str(cwd),
        async_backend=config.async_backend or "auto",
    )
    return Resolved(
        settings=settings,
        exclude=tuple(exclude) or tuple(config.exclude or ()),
        config_path=found,
        unsafe_fixes=unsafe_fixes,
        unsafe_from_flag=from_flag,
        force_exclude=bool(force_exclude if force_exclude is not None else config.force_exclude),
    )
