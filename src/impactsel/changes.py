"""⑤ From changed files to changed symbols: (old, new) extraction results -> ``ChangedSymbol``s.

A symbol has changed when it was added, removed, or the fingerprint of its own
code differs. Fingerprints leave out comments and layout, so an edit that only
touches those changes nothing. A file that cannot be analysed on either side
counts as a change to its whole module (every user of it is affected).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import PurePosixPath

from impactsel.model import (
    MODULE_QUALNAME,
    ChangeCause,
    ChangedSymbol,
    ExtractResult,
    FileSymbols,
    ImportTarget,
    Symbol,
    SymbolId,
    SymbolKind,
)


def compare(
    path: PurePosixPath,
    old_module: str | None,
    old: ExtractResult | None,
    new_module: str | None,
    new: ExtractResult | None,
    is_project_module: Callable[[str, ImportTarget], bool] = lambda module, target: False,
    modules: Collection[str] = frozenset(),
) -> tuple[list[ChangedSymbol], str | None]:
    """The symbols that differ between two versions of one file.

    Args:
        path: the file's path (new path for renames).
        old_module / old: module name and extraction result at the base (None: the file is new).
        new_module / new: the same for the work tree (None: the file was deleted).
        is_project_module: whether an import (in a module) imports code of the project.
        modules: the project's module names (``from pkg import sub`` may import a submodule).

    Returns:
        The changed symbols, and a reason when a side could not be analysed.
    """
    old_table = _table(old)
    new_table = _table(new)
    changed: list[ChangedSymbol] = []
    reason = None
    for module, result in ((old_module, old), (new_module, new)):
        if module is not None and result is not None and not isinstance(result, FileSymbols):
            reason = f"{path}: {result.message}: every user of module {module} is selected"
            changed.append(ChangedSymbol(_id(module, MODULE_QUALNAME), ChangeCause.MODIFIED, path))
    if old_module != new_module:
        changed += [_cs(old_module, q, ChangeCause.DELETED, path) for q in old_table if old_module]
        changed += [_cs(new_module, q, ChangeCause.ADDED, path) for q in new_table if new_module]
        return _unique(changed), reason
    assert new_module is not None
    old_symbols, new_symbols = _symbols(old), _symbols(new)
    for qualname, fingerprint in old_table.items():
        if qualname not in new_table:
            changed.append(_cs(new_module, qualname, ChangeCause.DELETED, path))
        elif new_table[qualname] != fingerprint:
            kept = _binding_kept(old_symbols[qualname], new_symbols[qualname])
            changed.append(ChangedSymbol(_id(new_module, qualname), ChangeCause.MODIFIED, path, kept))
    for qualname in new_table.keys() - old_table.keys():
        changed.append(_cs(new_module, qualname, ChangeCause.ADDED, path))
    # An import of project code added or changed at module level runs that code (or
    # fails) when this module is imported: its importers are affected. One removed
    # fails nothing: unless the modules the others import, in their order, differ too
    # (``from .utils import b`` gone, ``from .utils import a`` left), nothing else runs.
    old_imports = _project_imports(old, old_module, is_project_module)
    new_imports = _project_imports(new, new_module, is_project_module)
    if not set(new_imports) <= set(old_imports) or _run(old_imports, new_module, path, modules) != _run(
        new_imports, new_module, path, modules
    ):
        changed.append(_cs(new_module, MODULE_QUALNAME, ChangeCause.MODIFIED, path))
    # What ``from m import *`` takes from this module changed: its importers are affected.
    # It binds the set of names in ``__all__``, whatever their order (a sorted ``__all__``
    # binds the same names); code reading ``m.__all__`` depends on that symbol itself.
    if (
        isinstance(old, FileSymbols)
        and isinstance(new, FileSymbols)
        and (old.star_imports != new.star_imports or _name_set(old.all_names) != _name_set(new.all_names))
    ):
        changed.append(_cs(new_module, MODULE_QUALNAME, ChangeCause.MODIFIED, path))
    return _unique(changed), reason


# Private


def _project_imports(
    result: ExtractResult | None, module: str | None, is_project_module: Callable[[str, ImportTarget], bool]
) -> list[ImportTarget]:
    """The module-level imports of project code, in the order they run."""
    if not isinstance(result, FileSymbols) or module is None:
        return []
    return [t for t in result.imports if is_project_module(module, t)]


def _run(targets: list[ImportTarget], module: str, path: PurePosixPath, modules: Collection[str]) -> list[str]:
    """The modules these imports run, each where it first runs."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    run: dict[str, None] = {}
    for target in targets:
        name = target.absolute(package)
        run[name] = None
        if target.name is not None and f"{name}.{target.name}" in modules:
            run[f"{name}.{target.name}"] = None
    return list(run)


def _name_set(names: tuple[str, ...] | None) -> frozenset[str] | None:
    """``__all__`` as ``from m import *`` reads it; None (no literal ``__all__``) stays apart from empty."""
    return frozenset(names) if names is not None else None


def _symbols(result: ExtractResult | None) -> dict[str, Symbol]:
    return {s.qualname: s for s in result.symbols} if isinstance(result, FileSymbols) else {}


def _binding_kept(old: Symbol, new: Symbol) -> bool:
    """A function both times, undecorated: its name is bound to the function ``def`` makes.

    (A decorator, or its arguments, may bind the name to anything else.)
    """
    return old.kind is new.kind is SymbolKind.FUNCTION and not old.decorators and not new.decorators


def _table(result: ExtractResult | None) -> dict[str, int]:
    if not isinstance(result, FileSymbols):
        return {}
    return {s.qualname: s.fingerprint for s in result.symbols}


def _id(module: str, qualname: str) -> SymbolId:
    return SymbolId(f"{module}:{qualname}")


def _cs(module: str | None, qualname: str, cause: ChangeCause, path: PurePosixPath) -> ChangedSymbol:
    assert module is not None
    return ChangedSymbol(_id(module, qualname), cause, path)


def _unique(changed: list[ChangedSymbol]) -> list[ChangedSymbol]:
    seen: dict[str, ChangedSymbol] = {}
    for item in changed:
        seen.setdefault(item.id, item)
    return sorted(seen.values(), key=lambda c: c.id)
