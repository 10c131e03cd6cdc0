"""The layering rules of the design card, enforced."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"torch", "transformers", "diffusers", "peft", "accelerate"}
# Streamlit calls that create a widget and so need key=.
WIDGETS = {
    "button",
    "download_button",
    "checkbox",
    "toggle",
    "radio",
    "selectbox",
    "multiselect",
    "slider",
    "select_slider",
    "text_input",
    "number_input",
    "text_area",
    "date_input",
    "time_input",
    "file_uploader",
    "camera_input",
    "color_picker",
    "data_editor",
    "chat_input",
    "form_submit_button",
    "segmented_control",
    "pills",
    "feedback",
    "link_button",
}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def _ui_files() -> list[Path]:
    return [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]


def test_engine_never_imports_streamlit() -> None:
    offenders = [
        str(p.relative_to(ROOT)) for p in (ROOT / "aigc_core").rglob("*.py") if "streamlit" in _imported_roots(p)
    ]
    assert offenders == []


def test_engine_imports_without_streamlit_loaded() -> None:
    code = (
        "import importlib, pkgutil, sys, aigc_core\n"
        "skip = ('aigc_core.store.migrations',)\n"
        "for m in pkgutil.walk_packages(aigc_core.__path__, 'aigc_core.'):\n"
        "    if m.name.startswith(skip) or m.name.endswith('__main__'): continue\n"
        "    importlib.import_module(m.name)\n"
        "assert 'streamlit' not in sys.modules, 'streamlit was imported by the engine'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


def test_pages_never_import_ml_libraries() -> None:
    offenders = {str(p.relative_to(ROOT)): sorted(_imported_roots(p) & HEAVY) for p in _ui_files()}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_every_widget_has_a_key() -> None:
    missing = []
    for path in _ui_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in WIDGETS
                and not any(kw.arg == "key" for kw in node.keywords)
            ):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.func.attr}")
    assert missing == []


def test_every_page_file_is_listed_in_the_router() -> None:
    app = (ROOT / "app.py").read_text(encoding="utf-8")
    pages = [p for p in sorted((ROOT / "pages").glob("*.py")) if not p.name.startswith("_")]
    assert pages, "no pages"
    for p in pages:
        assert f'"pages/{p.name}"' in app, f"{p.name} is not listed in app.py's st.navigation"
