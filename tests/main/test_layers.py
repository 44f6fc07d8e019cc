"""Features don't load each other's web layer: importing a feature's models (as
weeks/transfer.py imports tonight's) runs no views, and create_app registers every
blueprint, profile section and signal receiver explicitly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import webapp

FEATURES = sorted(path.parent.name for path in Path(webapp.__file__).parent.glob("*/models.py"))

LOADED = """
import sys
import {module}
print(" ".join(sorted(name for name in sys.modules if name.startswith("webapp."))))
"""


def loaded_modules(module: str) -> list[str]:
    """The webapp modules that importing `module` loads, in a fresh interpreter (this one
    has long since imported every view)."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED.format(module=module)],
        capture_output=True, text=True, check=True, timeout=120,
        cwd=Path(webapp.__file__).parent.parent,
    )
    return done.stdout.split()


def loaded_web_modules(module: str) -> list[str]:
    return [name for name in loaded_modules(module) if name.rsplit(".", 1)[-1] in ("views", "oauth")]


def test_every_feature_with_models_is_checked():
    assert {"accounts", "catalog", "groups", "social", "tonight", "weeks"} <= set(FEATURES)


@pytest.mark.parametrize("feature", FEATURES)
def test_importing_a_features_models_loads_no_views(feature):
    assert loaded_web_modules(f"webapp.{feature}.models") == []


@pytest.mark.parametrize("module", sorted(
    f"webapp.{path.parent.name}.services" for path in Path(webapp.__file__).parent.glob("*/services.py")
) + ["webapp.weeks.transfer"])
def test_importing_a_features_services_loads_no_views(module):
    assert loaded_web_modules(module) == []


@pytest.mark.parametrize("feature", ["accounts", "admin", "catalog", "groups", "main", "social", "tonight", "weeks"])
def test_importing_a_feature_package_loads_no_views(feature):
    assert loaded_web_modules(f"webapp.{feature}") == []


def test_profile_sections_have_a_deliberate_order(app):
    from webapp.social.profile_sections import SECTIONS

    features = [name for _, name, _ in SECTIONS if name in ("viewings", "weeks")]
    assert features == ["viewings", "weeks"]
    orders = [order for order, _, _ in SECTIONS]
    assert len(orders) == len(set(orders))


@pytest.mark.parametrize("module", ["webapp.errors", "webapp.rendering", "webapp.numbers", "webapp.mail"])
def test_error_and_rendering_modules_import_first_without_a_cycle(module):
    # webapp.errors renders its pages with webapp.rendering, which needs DomainError
    # only for annotations: any of them may be the first one imported.
    assert loaded_web_modules(module) == []


@pytest.mark.parametrize("module", ["webapp.providers", "webapp.providers.llm"])
def test_providers_import_no_feature(module):
    # The clients return their own types (e.g. llm.WishReading), which features convert.
    features = {f"webapp.{name}" for name in ("accounts", "admin", "catalog", "groups", "main", "social", "tonight", "weeks")}
    assert [name for name in loaded_modules(module) if name.rsplit(".", 1)[0] in features or name in features] == []


def test_providers_name_no_feature_anywhere_in_their_imports():
    # Also the imports inside functions, which importing the module does not run.
    import ast

    features = ("accounts", "admin", "catalog", "groups", "main", "social", "tonight", "weeks")
    found = []
    for path in sorted((Path(webapp.__file__).parent / "providers").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])
            found += [f"{path.name}: {name}" for name in names
                      if name.split(".")[:2] in [["webapp", feature] for feature in features]]
    assert found == []
