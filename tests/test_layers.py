"""The packages form layers and import only downwards (docs/architecture.md, "Layers").

    node                       the I/O shell, consensus, the audit and the benchmarks
    wallet                     the client: node client, wallet and role commands
    genesis                    genesis documents and the one list of modules (genesis/rules.py)
    governance                 domain modules, each above those it may use
    market
    identity
    cli, keys                  shared by everything above: command helpers; key files, signed requests, TLS trust
    ledger                     the core, with the credits and evidence modules

A package may import itself and any package on a lower layer, nothing on its
own layer or above: every import statement of every file counts, including
those inside functions. The checker is tested on a deliberately upward import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS: tuple[tuple[str, ...], ...] = (
    ("ledger",),
    ("cli", "keys"),
    ("identity",),
    ("market",),
    ("governance",),
    ("genesis",),
    ("wallet",),
    ("node",),
)
LEVEL = {package: level for level, names in enumerate(LAYERS) for package in names}


def imported_packages(source: str) -> set[str]:
    """The top-level names of every absolute import in `source`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def upward_imports(root: Path) -> list[str]:
    """'file: package -> package' for every import that does not go down a layer."""
    found = []
    for package, level in LEVEL.items():
        for path in sorted((root / package).rglob("*.py")):
            for name in sorted(imported_packages(path.read_text(encoding="utf-8"))):
                if name in LEVEL and name != package and LEVEL[name] >= level:
                    found.append(f"{path.relative_to(root)}: {package} -> {name}")
    return found


def test_every_package_imports_only_downwards():
    assert upward_imports(REPO) == []


def test_every_package_of_the_project_has_a_layer():
    installed = [line for line in (REPO / "pyproject.toml").read_text().splitlines() if line.startswith("include")]
    assert installed, "pyproject.toml lists the packages it installs"
    listed = {name.strip(' "*') for name in installed[0].split("=", 1)[1].strip(" []").split(",")}
    assert listed == set(LEVEL)


@pytest.mark.parametrize(("package", "line"), [
    ("ledger", "from identity import records"),
    ("identity", "import market.orders"),
    ("keys", "from cli.common import emit"),  # a layer's packages do not use each other either
    ("wallet", "    from node.server import run_node"),  # inside a function too
])
def test_an_upward_import_is_caught(tmp_path, package, line):
    for name in LEVEL:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    body = f"def f():\n{line}\n" if line.startswith(" ") else f"{line}\n"
    (tmp_path / package / "bad.py").write_text(body)
    assert upward_imports(tmp_path) == [f"{package}/bad.py: {package} -> {line.split()[1].split('.')[0]}"]
