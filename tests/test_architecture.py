"""The engine (icp/) never imports streamlit: the CLI and other programs use it without a UI."""

import ast
import subprocess
import sys
from pathlib import Path

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


def test_importing_every_engine_module_does_not_load_streamlit():
    modules = sorted(p.stem for p in (ROOT / "icp").glob("*.py") if p.stem != "__main__")
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module('icp.' + m if m != '__init__' else 'icp')\n"
        "assert 'streamlit' not in sys.modules, 'streamlit was imported'\n"
        "print(len(sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


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
