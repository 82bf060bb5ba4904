"""The apps ship inside the filterkit package (``filterkit.apps``), never as a top-level ``apps``."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("speech", "text", "go")


def _import_report(pythonpath: str | None, cwd: Path) -> str:
    code = (
        "import importlib, filterkit\n"
        f"for app in {APPS!r}:\n"
        "    m = importlib.import_module('filterkit.apps.' + app)\n"
        "    print(m.__file__)\n"
        "import importlib.util\n"
        "print('top-level apps:', importlib.util.find_spec('apps') is not None)\n"
    )
    env = None
    if pythonpath is not None:
        import os

        env = dict(os.environ, PYTHONPATH=pythonpath)
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return out.stdout


def test_installed_package_imports_apps(tmp_path):
    """Whatever install is active (editable in development), the apps import from outside the repo."""
    report = _import_report(None, tmp_path)
    assert "top-level apps: False" in report
    for app in APPS:
        assert f"{app}" in report


@pytest.mark.slow
def test_built_wheel_contains_and_imports_apps(tmp_path):
    """Build a real wheel, install it into a folder and import the apps from there."""
    if shutil.which("git") is None:
        pytest.skip("git is needed to copy the source tree")
    src = tmp_path / "src"
    # copy only the tracked + untracked-not-ignored files, like an sdist would
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()
    for name in files:
        package_data = name.startswith("filterkit/models/") or name.endswith((".sha256", "py.typed"))
        if (ROOT / name).is_file() and (name.endswith(".py") or package_data or name in ("pyproject.toml", "README.md")):
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(src)],
        check=True, capture_output=True,
    )
    (wheel,) = dist.glob("filterkit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "filterkit/apps/__init__.py" in names
    for init in sorted(ROOT.glob("filterkit/**/__init__.py")) + sorted(ROOT.glob("apps/**/__init__.py")):
        rel = init.relative_to(ROOT).as_posix()
        packaged = "filterkit/" + rel if rel.startswith("apps/") else rel
        assert packaged in names, f"{rel} is not in the wheel: add its package to pyproject.toml"
    assert all(not n.startswith("apps/") for n in names), "apps must not be a top-level package"
    import json

    bundled = json.loads((ROOT / "filterkit" / "models" / "catalogue.json").read_text())
    assert {"filterkit/models/catalogue.json", "filterkit/py.typed"} <= set(names)
    assert {f"filterkit/models/{e['file']}" for e in bundled} <= set(names)  # the bundled weights ship
    assert wheel.stat().st_size < 20 * 2**20  # issue 20: the wheel stays under 20 MB
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True, capture_output=True,
    )
    report = _import_report(str(target), tmp_path)
    for app in APPS:
        assert str(target / "filterkit" / "apps" / app / "__init__.py") in report
    assert "top-level apps: False" in report
