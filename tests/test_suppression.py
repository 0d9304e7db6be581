"""``# noqa`` and ``# asyncmend: skip-file``: what they silence and what not."""

from __future__ import annotations

import pytest

from codemods import Settings, fix_source

APPLY = Settings(select=frozenset({"AM101"}), apply=frozenset({"AM101"}))
HEAD = "import time\n\n\nasync def f():\n"


def _lines(body: str, head: str = HEAD) -> list[tuple[int, bool]]:
    return [(f.line, f.fixed) for f in fix_source(head + body, APPLY).findings]


@pytest.mark.parametrize(
    "comment",
    ["# noqa", "# NOQA", "# Noqa", "# noqa: AM101", "#noqa:AM101", "# noqa: ASYNC251",
     "# noqa: E501, AM101", "# noqa: am101"],
)
def test_noqa_comment_suppresses_the_finding_on_its_line(comment: str) -> None:
    assert _lines(f"    time.sleep(1)  {comment}\n") == []


def test_noqa_for_another_code_does_not_suppress() -> None:
    assert _lines("    time.sleep(1)  # noqa: E501\n") == [(5, True)]


def test_noqa_inside_a_string_is_not_a_comment() -> None:
    # Regression: the text of a string literal used to count as a noqa comment.
    assert _lines('    time.sleep(1); x = "# noqa"\n') == [(5, True)]
    assert _lines('    time.sleep(1); x = """\n    # noqa: AM101"""\n') == [(5, True)]


def test_noqa_applies_to_its_own_line_only() -> None:
    assert _lines("    time.sleep(1)  # noqa\n    time.sleep(2)\n") == [(6, True)]


def test_noqa_lines_are_counted_like_libcst_counts_them_with_cr_and_crlf() -> None:
    for newline in ("\r\n", "\r"):
        source = (HEAD + "    time.sleep(1)\n    time.sleep(2)  # noqa\n").replace("\n", newline)
        assert [(f.line, f.fixed) for f in fix_source(source, APPLY).findings] == [(5, True)]


def test_skip_file_comment_skips_the_whole_file() -> None:
    from codemods._engine import Options, process_bytes
    from codemods import RULES

    data = ("# asyncmend: skip-file\n" + HEAD + "    time.sleep(1)\n").encode()
    outcome = process_bytes(data, Options(settings=APPLY), RULES, "m.py")
    assert outcome.skipped == "skip-file"
    assert outcome.findings == [] and outcome.output == data


def test_skip_file_inside_a_string_does_not_skip_the_file() -> None:
    # Regression: a line of a triple-quoted string (say, source embedded in a
    # test) that read "# asyncmend: skip-file" used to skip the whole file.
    from codemods._engine import Options, process_bytes
    from codemods import RULES

    data = (HEAD + '    time.sleep(1)\n    return """\n# asyncmend: skip-file\n"""\n').encode()
    outcome = process_bytes(data, Options(settings=APPLY), RULES, "m.py")
    assert outcome.skipped is None
    assert [(f.line, f.fixed) for f in outcome.findings] == [(5, True)]
