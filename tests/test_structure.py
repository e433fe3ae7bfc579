"""The package's shape: no import circles, so every module can be read (and imported) from the
bottom up; docs/design.md draws the floors."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mspgsen

PACKAGE = Path(mspgsen.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package modules `path` imports, at any depth of its code (a late import is an arrow too)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {t for t in targets if t in modules and t != name}
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {name: imports_of(path, modules) for name, path in paths.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_circles():
    assert circles(import_graph()) == []


def test_the_circle_finder_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_a_new_controller_with_settings_is_one_file(tmp_path, monkeypatch):
    """Its settings become the `train.<name>` section, validated like every other key, and the
    loop runs it: nothing else is edited."""
    import sys
    from mspgsen import api
    from mspgsen.controllers.base import CONTROLLERS
    from mspgsen.errors import UserError

    from conftest import tiny_config

    (tmp_path / "halving.py").write_text('''
from dataclasses import dataclass
from mspgsen.config import setting
from mspgsen.contracts import Controller
from mspgsen.controllers.base import register_controller

@dataclass
class HalvingConfig:
    every: int = setting(4, low=1)  # ticks between halvings

@register_controller
class Halving(Controller):
    """Halves every learning rate each `every` ticks."""
    name = "halving"
    settings = HalvingConfig

    def __init__(self, config):
        super().__init__(config)
        self.ticks = 0

    def act(self, step, indicators, knobs):
        self.ticks += 1
        if self.ticks % self.config.train.halving.every:
            return {}
        for optimizer in ("G", "D"):
            knobs.lr_scale[optimizer] = knobs.lr_scale.get(optimizer, 1.0) / 2
        return {"halved": 1.0}
''')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(CONTROLLERS, "_items", dict(CONTROLLERS._items))  # registered for this test only
    monkeypatch.delitem(sys.modules, "halving", raising=False)
    __import__("halving")
    config = tiny_config(tmp_path, steps=12, extra=["train.controllers=[halving]", "train.halving.every=2",
                                                   "train.log_every=2"])
    result = api.train(config)
    rows = [__import__("json").loads(line) for line in (result.run_dir / "stats.jsonl").read_text().splitlines()]
    # ticks every 2 steps, halving every 2nd tick (steps 4 and 8): the last steps run at a quarter
    assert [row["lr/G"] for row in rows if "lr/G" in row][-1] == pytest.approx(config.model.optim_g.lr / 4)
    with pytest.raises(UserError, match="'train.halving.every' must be at least 1"):
        tiny_config(tmp_path, extra=["train.controllers=[halving]", "train.halving.every=0"])


def allowed_imports() -> dict[str, set[str]]:
    """docs/design.md's table: folder → the folders it may import (errors always)."""
    text = (PACKAGE.parents[1] / "docs" / "design.md").read_text()
    table = text.split("<!-- imports: begin -->")[1].split("<!-- imports: end -->")[0]
    rows = [line.strip("|").split("|") for line in table.strip().splitlines()[2:]]
    return {folder.strip(): {"errors"} | ({name.strip() for name in allowed.split(",")} - {"nothing"})
            for folder, allowed in rows}


def folder_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "mspgsen"


def test_every_import_is_one_that_docs_design_allows():
    allowed = allowed_imports()
    graph = import_graph()
    folders = {folder_of(module) for module in graph} - {"mspgsen", "errors", "__main__"}
    assert folders == set(allowed), "docs/design.md's import table and the package's folders differ"
    wrong = sorted(f"{module} imports {target}" for module, targets in graph.items() for target in targets
                   if folder_of(module) in allowed and folder_of(target) != folder_of(module)
                   and folder_of(target) not in allowed[folder_of(module)])
    assert wrong == []


def test_the_import_rule_check_catches_a_forbidden_import(monkeypatch):
    real = import_graph()
    with_upward = {**real, "mspgsen.nn.layers": real["mspgsen.nn.layers"] | {"mspgsen.training.loop"}}
    monkeypatch.setitem(import_graph.__globals__, "import_graph", lambda: with_upward)
    with pytest.raises(AssertionError, match="mspgsen.nn.layers imports mspgsen.training.loop"):
        test_every_import_is_one_that_docs_design_allows()


def test_no_module_is_longer_than_300_lines_and_the_command_line_is_small():
    lengths = {path.relative_to(PACKAGE): len(path.read_text().splitlines()) for path in PACKAGE.rglob("*.py")}
    assert [str(path) for path, lines in lengths.items() if lines > 300] == []
    assert lengths[Path("cli.py")] < 150
