"""The course's presentation layer: style, explorers, checkers, and one module per chapter.

Everything here draws (matplotlib), interacts (ipywidgets, imported only when an explorer is shown
live) or gives feedback; the numerics it calls live in the top-level :mod:`gfteach` modules, and never
the other way round. Chapters import what they need explicitly::

    import gfteach as gt
    from gfteach.course import ch02
"""
