"""Sphinx extension: cross-references to the package's re-exports land on the documented object.

Docstrings and pages say ``gfteach.gradient_flow`` (the public name, re-exported by ``gfteach/__init__.py``),
while the API page documents each object once, where it is defined (``gfteach.flow.gradient_flow``). For a
Python reference Sphinx cannot find, this looks the name up by importing it and, if it is an object defined
under another name (its ``__module__`` and ``__qualname__``), resolves the reference to that name. A name
that imports to nothing, or to an object that is not documented either, stays a missing reference (a
warning, so a typo still fails the build).
"""

from __future__ import annotations

import importlib


def lookup(dotted: str):
    """The object named ``dotted`` (``package.module.attr.attr``), or None if it does not import."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for part in parts[i:]:
            obj = getattr(obj, part, None)
            if obj is None:
                return None
        return obj
    return None


def defined_name(dotted: str) -> str | None:
    """Where the object called ``dotted`` is defined (``module.qualname``), if that is another name."""
    obj = lookup(dotted)
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not (isinstance(module, str) and isinstance(qualname, str)):
        return None
    real = f"{module}.{qualname}"
    return real if real != dotted else None


def _resolve(app, env, node, contnode):
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target.startswith("gfteach."):
        return None
    real = defined_name(target)
    if real is None:
        return None
    return env.get_domain("py").resolve_xref(
        env, node.get("refdoc"), app.builder, node.get("reftype"), real, node, contnode
    )


def setup(app):
    app.connect("missing-reference", _resolve)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
