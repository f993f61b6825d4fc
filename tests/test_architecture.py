"""Shape rules: the engine (icp/) never imports streamlit, so the CLI and other programs use it without a
UI; the app routes over views/, not pages/; every slider reruns only its own section (st.fragment)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_engine_module_imports_streamlit():
    offenders = [p.name for p in (ROOT / "icp").rglob("*.py") if "streamlit" in _imports(p)]
    assert offenders == []


def _module(path: Path) -> str:
    return ".".join(p for p in path.relative_to(ROOT).with_suffix("").parts if p != "__init__")


def test_importing_every_engine_module_does_not_load_streamlit():
    modules = sorted(_module(p) for p in (ROOT / "icp").rglob("*.py") if p.stem != "__main__")
    assert len(modules) > 40
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "assert 'streamlit' not in sys.modules, 'streamlit was imported'\n"
        "print(len(sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# The engine's layers in workflow order: a module imports from its own layer or those before it,
# never from a later one. The shared helpers at the top of icp/ come first; the CLI and the shared
# demo (which drafts and validates an ICP) come last.
LAYERS = ["shared", "data", "analysis", "profile", "market", "export", "app"]
_APP = {"cli", "demo_workspace", "__main__"}


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in LAYERS:
        return parts[1]
    return "app" if len(parts) > 1 and parts[1] in _APP else "shared"


def _engine_imports(path: Path) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "icp":
            names = [f"icp.{a.name}" for a in node.names] if node.module == "icp" else [node.module]
            found += [(name, node.lineno) for name in names]
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "icp"]
    return found


def test_the_engine_is_layered_as_the_workflow_with_no_import_upward():
    upward = []
    for path in sorted((ROOT / "icp").rglob("*.py")):
        mine = _layer(_module(path))
        for name, line in _engine_imports(path):
            if LAYERS.index(_layer(name)) > LAYERS.index(mine):
                upward.append(f"{_module(path)} ({mine}) imports {name} ({_layer(name)}), line {line}")
    assert upward == []
    packages = {p.name for p in (ROOT / "icp").iterdir() if (p / "__init__.py").exists()}
    assert packages == set(LAYERS[1:-1])


def test_pages_are_listed_explicitly_in_the_router():
    router = (ROOT / "app.py").read_text(encoding="utf-8")
    pages = sorted((ROOT / "views").glob("*.py"))
    assert len(pages) >= 5
    for page in pages:
        assert f'"views/{page.name}"' in router, f"{page.name} is not routed in app.py"


def test_there_is_no_pages_folder_for_streamlit_to_run_without_the_router():
    # Streamlit runs a `pages/` folder's files directly on a deep link to a freshly started server,
    # before app.py has called st.navigation: no sidebar, no router. The pages live in views/.
    assert not (ROOT / "pages").exists()


def _fragment_functions(tree) -> list:
    """Functions decorated with ui.fragment's `fragment` (st.fragment that shows engine errors as
    sentences), and the page's own functions they call."""
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    fragments = [f for f in functions.values() if any(ast.unparse(d) == "fragment" for d in f.decorator_list)]
    called = {n.func.id for f in fragments for n in ast.walk(f) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return fragments + [functions[name] for name in called if name in functions]


@pytest.mark.parametrize("page", sorted(p.name for p in (ROOT / "views").glob("*.py")))
def test_every_slider_sits_in_a_fragment_so_it_reruns_only_its_section(page):
    tree = ast.parse((ROOT / "views" / page).read_text())
    inside = {id(n) for f in _fragment_functions(tree) for n in ast.walk(f)}
    sliders = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func).endswith("slider")]
    outside = [n.lineno for n in sliders if id(n) not in inside]
    assert not outside, f"views/{page}: sliders outside any fragment on lines {outside}"


def test_scoring_a_file_does_not_import_scikit_learn():
    """`icp score` and every new app process import the engine; scikit-learn and SciPy (a second or two)
    are imported only by the clustering that uses them."""
    code = ("import sys, icp.cli, icp.export.build, icp.market.targets, icp.profile.draft\n"
            "assert 'sklearn' not in sys.modules, 'sklearn was imported'\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
