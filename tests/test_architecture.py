"""The house plan holds in the code: layers import only downward, no module imports
itself round a loop, and the HTTP layer runs without torch.

Every ``import`` statement counts, at module level or inside a function: a lazy
import is still an arrow. docs/architecture.md lists the same layer order.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "backend" / "headsculpt"

# Lower rank may be imported by higher rank; layers of the same rank never import
# each other. Core modules (rank 0) hold the contracts every layer shares.
RANKS = {
    "core": 0,  # descriptive_code, progress, files, limits, the package itself
    "text": 1,
    "prior": 1,
    "render": 1,
    "guidance": 1,
    "texture": 2,
    "export": 2,
    "geometry": 2,
    "eval": 3,
    "pipelines": 4,
    "api": 5,
    "batch": 5,  # beside the server: both run pipelines; neither imports the other
    "cli": 6,
    "__main__": 7,
}


def _module_name(path: Path) -> str:
    parts = ["headsculpt", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "core"
    return parts[1] if (PACKAGE / parts[1]).is_dir() or parts[1] == "__main__" else "core"


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The headsculpt modules ``path`` imports (``from a import b`` counts b when a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name in modules}


def import_graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {name: _imports(path, modules) - {name} for name, path in paths.items()}


def test_every_package_has_a_rank():
    layers = {_layer(m) for m in import_graph()}
    assert layers <= set(RANKS), layers - set(RANKS)


def test_layers_import_only_downward():
    upward = []
    for module, imported in import_graph().items():
        for target in imported:
            here, there = _layer(module), _layer(target)
            if here != there and RANKS[here] <= RANKS[there] and target != "headsculpt":
                upward.append(f"{module} → {target} ({here} {RANKS[here]} → {there})")
    assert not upward, "\n".join(sorted(upward))


def test_no_import_cycles():
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in graph:
        if node not in index:
            visit(node)
    assert not cycles, cycles


def _loads_without(blocked: tuple[str, ...], code: str) -> None:
    """Run ``code`` in a fresh interpreter where importing any of ``blocked`` fails."""
    block = "".join(f"sys.modules[{name!r}] = None; " for name in blocked)
    program = f"import sys; {block}\n{code}print('ok')\n"
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert completed.stdout.strip() == "ok", completed.stderr


def test_the_http_layer_and_the_cli_load_without_torch():
    """The server's schema, app and runner and the command line import no torch."""
    _loads_without(
        ("torch",),
        "import headsculpt.api.schemas, headsculpt.api.app, headsculpt.api.runner\n"
        "import headsculpt.api.serve, headsculpt.pipelines.registry, headsculpt.cli\n"
        "from headsculpt.cli import build_parser; build_parser()\n",
    )


def test_the_batch_layer_loads_without_torch_or_ray():
    """Ray is an optional extra: the batch package (and the command's parser) import
    without it, and without torch; only the driver, when it runs, imports Ray."""
    _loads_without(
        ("torch", "ray"),
        "import headsculpt.batch.items, headsculpt.batch.manifest, headsculpt.batch.worker\n"
        "import headsculpt.batch.scheduler, headsculpt.batch.driver, headsculpt.batch.sheet\n"
        "import headsculpt.cli.batch\n",
    )
