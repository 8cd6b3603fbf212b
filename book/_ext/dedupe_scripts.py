"""Sphinx extension: emit each inline script only once per page.

sphinx-thebe 0.3.1 registers its inline configuration script (``const THEBE_JS_URL = ...``) in an
``env-before-read-docs`` handler; under Jupyter Book 1.0.4 that handler runs twice, and Sphinx only
de-duplicates scripts that have a file name. Every page then declares ``THEBE_JS_URL`` twice and the
browser reports "Identifier 'THEBE_JS_URL' has already been declared". (The two copies differ only
in their file name, ``None`` versus ``""``, which defeats Sphinx's own duplicate check.) This removes
duplicates from the page's script list, mending it at its source without touching anything else.
"""


def _dedupe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # the same inline script is registered once with filename None and once with "" (so Sphinx's
        # own check, which compares file names, lets both through)
        key = (getattr(script, "filename", None) or "", repr(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # in place: other handlers hold this same list


def setup(app):
    app.connect("html-page-context", _dedupe)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
