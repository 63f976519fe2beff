"""The package's shape: one home per fact, no import cycles, modules of a readable size."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from zhen import env
from zhen.han import HAN, HAN_RUN, has_han, is_han

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "pipeline"
MODULES = sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = ["zhen", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# -- one Han definition --------------------------------------------------------------------


@pytest.mark.parametrize("char", ["中", "〇", "々", "〡", "㐀", "\U00020000", "\U0002b740",
                                  "\U00030000", "\U00031350", "豈", "⺀", "⼀"])
def test_han_characters(char):
    assert is_han(char) and has_han(f"a{char}b")


@pytest.mark.parametrize("char", ["a", "1", "。", "、", "《", "，", "ア", "한", " ", "\u3000"])
def test_not_han(char):
    assert not is_han(char)


def test_han_runs():
    assert HAN_RUN.findall("GDP 〇八年 grew 々") == ["〇八年", "々"]


def test_one_han_definition():
    """No module spells out the CJK ranges itself: zhen.han is their one home."""
    own = PACKAGE / "han.py"
    for path in MODULES:
        if path != own:
            assert "\\u4e00" not in path.read_text(encoding="utf-8"), path


def test_untranslated_check_uses_it():
    from zhen.document import Document, Paragraph, Sentence, SourceInfo
    from zhen.qa.checks import check_untranslated

    s = Sentence("p1.s1", "二〇二五年", "In 二〇二五 the economy grew.")
    doc = Document("d", "t", SourceInfo("d.txt", "", "utf-8"), [Paragraph("p1", [s])])
    assert check_untranslated(s, doc) == "Chinese in the English: 二〇二五"
    assert HAN.search("〇")


# -- one environment module ------------------------------------------------------------------


def test_environment_is_read_in_one_module():
    for path in MODULES:
        if path.name == "env.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"os\.environ\.get|os\.getenv|environ\[|envvar=", text), path


def test_readme_lists_the_variables():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Environment", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z_]+)` \| (.*) \|$", section, re.M)
    assert rows == [(v.name, v.meaning) for v in env.VARIABLES if v.setting]


# -- no import cycles ------------------------------------------------------------------------


def _imports(path: Path) -> set[str]:
    """Modules of zhen that `path` imports, at the top or inside functions (not under
    TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    found = set()
    known = {module_name(p) for p in MODULES}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m in known and m != "zhen"}


def test_no_import_cycles():
    graph = {module_name(p): _imports(p) for p in MODULES}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


# -- readable sizes --------------------------------------------------------------------------

MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 250
MAX_FUNCTION_LINES = 80  # methods and nested functions included

# What may stay over a limit, and why ({qualified name: reason}); a name here that is back
# under its limit fails the test too, so that this list only ever holds what is still over.
# Empty: everything is within the limits.
SIZE_EXCEPTIONS: dict[str, str] = {}


def _sizes_of(text: str, path: Path):
    """(qualified name, what, lines, limit) for the module `text` (at `path`) and each class
    and function in it; a definition's lines run from `def`/`class` to its end (decorators
    aside)."""
    name = module_name(path)
    yield name, "module", len(text.splitlines()), MAX_MODULE_LINES

    def walk(node: ast.AST, prefix: str):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qualname = f"{prefix}.{child.name}"
                is_class = isinstance(child, ast.ClassDef)
                yield (qualname, "class" if is_class else "function",
                       child.end_lineno - child.lineno + 1,
                       MAX_CLASS_LINES if is_class else MAX_FUNCTION_LINES)
                yield from walk(child, qualname)
            else:
                yield from walk(child, prefix)

    yield from walk(ast.parse(text), name)


def test_sizes_within_the_limits():
    """No module over 500 lines, no class over 250, no function over 80 (issue 19), except
    the few SIZE_EXCEPTIONS, each with its reason."""
    over = {name: f"{what} {name}: {lines} lines (limit {limit})"
            for path in MODULES
            for name, what, lines, limit in _sizes_of(path.read_text(encoding="utf-8"), path)
            if lines > limit}
    unexplained = [text for name, text in sorted(over.items()) if name not in SIZE_EXCEPTIONS]
    assert not unexplained, "split these along their concerns:\n" + "\n".join(unexplained)
    stale = sorted(set(SIZE_EXCEPTIONS) - set(over))
    assert not stale, f"within the limits now, remove from SIZE_EXCEPTIONS: {stale}"


def test_sizes_are_measured():
    """The measure sees a long function, a nested one and a method (so the test above can
    fail)."""
    source = "class A:\n    def f(self):\n" + "        x = 1\n" * 81 + "\n\ndef g():\n" \
        "    def h():\n        pass\n    return h\n"
    path = PACKAGE / "_size_probe.py"  # never written: only its name is used
    sizes = {n: (w, lines) for n, w, lines, _ in _sizes_of(source, path)}
    assert sizes["zhen._size_probe"] == ("module", 89)
    assert sizes["zhen._size_probe.A"] == ("class", 83)
    assert sizes["zhen._size_probe.A.f"] == ("function", 82)
    assert sizes["zhen._size_probe.g.h"] == ("function", 2)
