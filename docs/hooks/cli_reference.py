"""mkdocs hook: write ``reference/cli.md`` from the Typer app, so the page cannot rot."""

from __future__ import annotations

from typing import Any

import typer.main
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files


def _command_markdown(command: Any, path: str, depth: int) -> list[str]:
    """Markdown of one command and its sub-commands (Typer ships its own click: duck-typed)."""
    lines = [f"{'#' * depth} `{path}`", ""]
    help_text = (command.help or "").strip()
    if help_text:
        lines += [help_text, ""]
    context = command.context_class(command, info_name=path)
    lines += ["```text", command.get_usage(context), "```", ""]
    rows = []
    for param in command.get_params(context):
        if param.param_type_name == "argument":
            rows.append((f"`{str(param.name).upper()}`", "argument (required)", ""))
            continue
        if param.param_type_name != "option" or getattr(param, "hidden", False):
            continue
        names = ", ".join(f"`{n}`" for n in [*param.opts, *param.secondary_opts])
        default = "" if param.default in (None, False) or param.is_flag else f"`{param.default}`"
        rows.append((names, (param.help or "").replace("|", "\\|"), default))
    if rows:
        lines += ["| option | meaning | default |", "|---|---|---|"]
        lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
        lines.append("")
    if hasattr(command, "list_commands"):
        for name in sorted(command.list_commands(context)):
            sub = command.get_command(context, name)
            if sub is not None:
                lines += _command_markdown(sub, f"{path} {name}", min(depth + 1, 4))
    return lines


def cli_markdown() -> str:
    """The whole CLI reference as Markdown."""
    from critmin.cli.app import app

    root = typer.main.get_command(app)
    header = [
        "# Command line",
        "",
        "Generated from the code at build time. Every command takes `--help`; user errors print",
        "one line `error: ...` and exit with code 2.",
        "",
    ]
    return "\n".join(header + _command_markdown(root, "critmin", 2)[4:]) + "\n"


def on_files(files: Files, config: MkDocsConfig, **_: Any) -> Files:
    files.append(
        File.generated(config, "reference/cli.md", content=cli_markdown())
    )
    return files
