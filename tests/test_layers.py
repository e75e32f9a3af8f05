"""The layers import one way, with no cycles, counting imports inside functions and TYPE_CHECKING blocks:
bot.cli and bot.discord_bot -> bot.answer -> embeddings."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "embeddings", "benchmarks", "training")
MAX_LINES = 450


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it: a name imported from a package counts as its submodule."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in MODULES else node.module)
    return found


GRAPH = {name: imports_of(path) for name, path in MODULES.items()}


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.fast
def test_embeddings_never_imports_bot_discord_or_click() -> None:
    for name, imported in GRAPH.items():
        if within(name, "embeddings"):
            bad = {m for m in imported if within(m, "bot") or within(m, "discord") or within(m, "click")
                   or within(m, "benchmarks") or within(m, "training")}
            assert not bad, f"{name} imports {sorted(bad)}"


@pytest.mark.fast
def test_the_answering_layer_never_imports_discord_click_or_the_front_ends() -> None:
    for name, imported in GRAPH.items():
        if within(name, "bot.answer") or name == "bot.settings":
            bad = {m for m in imported if any(within(m, p) for p in ("discord", "click", "bot.cli", "bot.discord_bot"))}
            assert not bad, f"{name} imports {sorted(bad)}"


@pytest.mark.fast
def test_only_the_entry_points_import_the_front_ends() -> None:
    for name, imported in GRAPH.items():
        for front in ("bot.cli", "bot.discord_bot"):
            if within(name, front) or name in ("bot", "bot.__main__"):
                continue
            bad = {m for m in imported if within(m, front)}
            assert not bad, f"{name} imports {sorted(bad)}"


@pytest.mark.fast
def test_there_is_no_import_cycle() -> None:
    edges = {name: {m for m in imported if m in MODULES and m != name} for name, imported in GRAPH.items()}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt):], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for name in sorted(edges):
        if name not in state:
            visit(name)


@pytest.mark.fast
def test_no_module_is_over_450_lines() -> None:
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, long


@pytest.mark.fast
def test_the_product_code_knows_no_seed_article() -> None:
    # The seeds' people, places, outlets and book: a newsroom's own articles must not get the seeds' rules.
    names = ("Crosetto", "Guido", "Zelensky", "Volodymyr", "Macron", "Emmanuel", "Meloni", "Giorgia", "Stoltenberg",
             "Sikorski", "Radoslaw", "Vespa", "Finimondo", "Reuters", "Bild", "ISW", "Ukrain", "Russia", "Kyiv",
             "Moscow", "Italy", "Italian", "Putin", "NATO", "Stampa", "Economist")
    for name, path in MODULES.items():
        if within(name, "bot") or within(name, "embeddings"):
            text = path.read_text(encoding="utf-8")
            found = [n for n in names if re.search(rf"\b{n}", text)]
            assert not found, f"{path.relative_to(ROOT)} names {found}"


@pytest.mark.fast
def test_only_the_postgres_store_and_its_command_import_the_driver() -> None:
    drivers = ("psycopg", "psycopg_pool", "pgvector")
    for name, imported in GRAPH.items():
        if within(name, "embeddings.postgres") or name == "bot.cli.postgres":
            continue
        bad = {m for m in imported if any(within(m, d) for d in drivers)}
        assert not bad, f"{name} imports {sorted(bad)}"


@pytest.mark.fast
def test_the_product_never_imports_the_training_recipes_or_the_benchmarks() -> None:
    for name, imported in GRAPH.items():
        if within(name, "bot") or within(name, "embeddings"):
            bad = {m for m in imported if within(m, "training") or within(m, "benchmarks")}
            assert not bad, f"{name} imports {sorted(bad)}"


@pytest.mark.fast
def test_no_two_modules_define_a_type_of_the_same_name() -> None:
    # Two things never share a name: a reader of one `Reading` must not find another.
    defined: dict[str, str] = {}
    for name, path in MODULES.items():
        if not (within(name, "bot") or within(name, "embeddings")):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                assert node.name not in defined, f"{node.name} is defined in {defined[node.name]} and {name}"
                defined[node.name] = name


@pytest.mark.fast
def test_embeddings_is_grouped_by_stage() -> None:
    # A newcomer reads the flow from the folders: ingest -> encoders -> index -> search (and the PostgreSQL store).
    top = sorted(p.stem for p in (ROOT / "embeddings").glob("*.py") if p.stem != "__init__")
    assert top == ["calendar", "checksums", "errors", "logistic", "progress", "records", "sqlitefile", "terms"], top
    for stage in ("ingest", "encoders", "index", "search", "postgres"):
        assert (ROOT / "embeddings" / stage / "__init__.py").is_file(), stage
