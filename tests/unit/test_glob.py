"""Redis glob rules (util.c stringmatchlen), without a server."""

import pytest

from node.glob import glob_match


@pytest.mark.parametrize("pattern,string,expected", [
    (b"*", b"anything", True),
    (b"h?llo", b"hello", True),
    (b"h?llo", b"hllo", False),
    (b"h*llo", b"heeeello", True),
    (b"h[ae]llo", b"hallo", True),
    (b"h[ae]llo", b"hillo", False),
    (b"h[^e]llo", b"hallo", True),
    (b"h[^e]llo", b"hello", False),
    (b"h[a-b]llo", b"hbllo", True),
    (b"h[b-a]llo", b"hbllo", True),      # reversed range accepted
    (b"h\\*llo", b"h*llo", True),
    (b"h\\*llo", b"hello", False),
    (b"a[\\]]b", b"a]b", True),
    (b"[]", b"a", False),
    (b"[^]", b"a", True),
    (b"ab[cd", b"abc", True),            # unterminated class takes the rest
    (b"foo\\", b"foo\\", True),          # trailing backslash is literal
    (b"a.b", b"axb", False),             # regex metacharacters are literal
    (b"*\n*", b"a\nb", True),
    (b"user:*", b"user:1000", True),
])
def test_glob(pattern, string, expected):
    assert glob_match(pattern, string) is expected


def test_nocase():
    assert glob_match(b"HELLO*", b"hello world", nocase=True)
    assert not glob_match(b"HELLO*", b"hello world")


def test_pathological_pattern_stays_fast():
    import time
    t0 = time.process_time()
    assert not glob_match(b"a*" * 20 + b"b", b"a" * 60)
    assert time.process_time() - t0 < 0.5


def test_empty_string_only_matches_empty_pattern():
    assert not glob_match(b"**", b"")
    assert glob_match(b"", b"")
