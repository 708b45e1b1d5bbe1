"""Sphinx configuration for the funnelkit documentation."""

from importlib.metadata import version as _version

project = "funnelkit"
author = "The funnelkit developers"
copyright = "2026, The funnelkit developers"
release = _version("funnelkit")
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo"
html_title = "funnelkit"
exclude_patterns = ["_build"]
