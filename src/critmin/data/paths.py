"""Where the embedded data and the catalogue live inside the installed package."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DATA = Path(__file__).resolve().parent
EMBEDDED_DIR = PACKAGE_DATA / "embedded"
CATALOG_DIR = PACKAGE_DATA / "catalog"
MANIFEST_NAME = "manifest.json"
