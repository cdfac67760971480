"""Production code never imports the demo: the demo may use production modules, not the reverse.

Why: demo loaders, the synthetic generator, fault drills and local services once carried
production weight (reports imported batch ranges and landing readers from the demo loaders).
Production is every module of the package except ``demo/`` and ``bench/`` (a benchmark tool
that starts local services). DAG files sit outside the package and may hand demo steps to the
factories.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "plugins" / "recon_operators"
NOT_PRODUCTION = ("demo", "bench")


def demo_imports(source: str, module: str) -> list[str]:
    """Every import of recon_operators.demo in the source, at any depth (lazy imports too)."""
    package = module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing module's package
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        found += [n for n in names if n == "recon_operators.demo" or n.startswith("recon_operators.demo.")]
    return sorted(set(found))


def production_modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in NOT_PRODUCTION:
            continue
        dotted = ".".join(("recon_operators", *relative.with_suffix("").parts))
        modules[dotted.removesuffix(".__init__")] = path
    return modules


def test_the_scanner_sees_every_import_form():
    module = "recon_operators.migration.x"
    assert demo_imports("from recon_operators.demo.loaders import BatchRange", module)
    assert demo_imports("def f():\n    import recon_operators.demo.faults\n", module)
    assert demo_imports("from recon_operators import demo", module)
    assert demo_imports("from ..demo import generator", module)
    assert not demo_imports("from recon_operators.migration.landing import BatchRange\nfrom . import demos", module)


def test_no_production_module_imports_the_demo():
    modules = production_modules()
    assert "recon_operators.migration.landing" in modules and "recon_operators.factories.cohort" in modules
    offenders = {
        name: found
        for name, path in sorted(modules.items())
        if (found := demo_imports(path.read_text(encoding="utf-8"), name))
    }
    assert offenders == {}


def test_the_demo_loaders_carry_no_fault_code():
    """Issue #13: faults wrap a load step (``faults.with_faults``); the loaders neither import the
    fault system nor name a fault, so a clean load cannot be corrupted by them."""
    module = "recon_operators.demo.loaders"
    tree = ast.parse((PACKAGE / "demo" / "loaders.py").read_text(encoding="utf-8"))
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    names |= {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    names |= {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    assert [n for n in demo_imports(ast.unparse(tree), module) if "fault" in n] == []
    assert sorted(n for n in names if "fault" in n.lower() or "inject" in n.lower()) == []
