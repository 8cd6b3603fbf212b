"""Style: tables render as Markdown tables with every column; figure sizes respect the column width."""

import pytest

from gfteach.course.style import MAX_WIDTH, figsize, table


def test_table_is_markdown_with_every_column_and_rounded_numbers():
    t = table([["quadratic", 0.123456789, 3], ["saddle", 12345.678, 4]], ["landscape", "distance", "k"])
    lines = t._repr_markdown_().splitlines()
    assert lines[0] == "| landscape | distance | k |"
    assert lines[1] == "| :--- | ---: | ---: |"
    assert lines[2] == "| quadratic | 0.1235 | 3 |" and lines[3] == "| saddle | 1.235e+04 | 4 |"
    assert "0.1235" in repr(t) and "landscape" in repr(t)


def test_table_rejects_ragged_rows_and_escapes_pipes():
    with pytest.raises(ValueError, match="2 cells"):
        table([[1]], ["a", "b"])
    assert "a \\| b" in table([["a | b", 1]], ["x", "y"])._repr_markdown_()


def test_figsize_never_exceeds_the_column():
    assert figsize(2) == (MAX_WIDTH, 6.4)
    with pytest.raises(ValueError, match="MAX_WIDTH"):
        figsize(1, width=MAX_WIDTH + 1)
