"""``critmin backtest``: replay historical export-control episodes against observed data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from critmin.cli.output import Format, render

if TYPE_CHECKING:
    import pandas as pd

    from critmin.simulation.backtests.runner import Replay

TABLE_COLUMNS = ["target", "label", "observed", "model", "cap_replay", "error", "relative_error"]
SCORE_COLUMNS = [
    "episode", "target", "kind", "observed", "model", "low", "high", "scored", "no_change",
    "cap_only", "last_year", "err_*",
]  # fmt: skip


def _list(fmt: Format) -> None:
    import pandas as pd

    from critmin.simulation.backtests.runner import episode_names, episodes

    specs = episodes()
    frame = pd.DataFrame(
        [
            {
                "name": n,
                "title": specs[n]["title"],
                "base_year": specs[n]["base_year"],
                "rules": ", ".join(specs[n]["rules"]),
                "start": specs[n]["start"],
                "months": specs[n]["months"],
                "targets": len(specs[n]["targets"]),
            }
            for n in episode_names()
        ]
    )
    render(frame, fmt, title="backtests")


def _score(fmt: Format, draws: int, seed: int) -> None:
    from critmin.simulation.backtests.score import parameters_used, scorecard, skill

    card = scorecard(draws=draws, seed=seed)
    table = skill(card)
    used = parameters_used()

    meta = {
        "draws": draws,
        "seed": seed,
        "interval": "5-95 % of the parameter ensemble",
        "error": "|ln(value / observed)|; skill = 1 - model error / baseline error",
        "scored": "not a cap replay and observed > 0",
    }
    if fmt is not Format.table:
        meta |= {"skill": _records(table), "parameters": _records(used)}
        render(card, fmt, title="backtest scorecard (held-out parameters)", meta=meta)
        return
    render(
        card,
        fmt,
        title="backtest scorecard (held-out parameters)",
        meta=meta,
        table_columns=SCORE_COLUMNS,
    )
    render(table, fmt, title="skill against the naive baselines (> 0: the model is closer)")
    render(
        used,
        fmt,
        title="parameters each episode is scored with (leave-one-episode-out)",
        table_columns=["episode", "parameter", "value", "low", "high", "estimated_on"],
    )


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    from critmin.cli.output import _plain

    return [{str(k): _plain(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]


def _render_run(
    name: str,
    fmt: Format,
    run: Replay,
    parameters: str,
    extra: dict[str, Any],
    columns: list[str],
) -> None:
    """Print one episode's run: its targets, and in JSON its paths and ``extra`` meta."""
    from critmin.simulation.backtests.runner import episodes

    spec = episodes()[name]
    meta: dict[str, Any] = {
        "rules": ", ".join(spec["rules"]),
        "base_year": spec["base_year"],
        "parameters": parameters,
        "error": "model - observed; relative_error = model / observed - 1",
        "cap_replay": "the model equals the compiled cap: a test of the rule file",
        "caveat": spec.get("caveat", ""),
    }
    if fmt is not Format.table:
        meta |= {**extra, "paths": _records(run.paths)}
    title = f"backtest {name}: {spec['title']}"
    render(run.targets, fmt, title=title, meta=meta, table_columns=columns)


def backtest_command(
    name: Annotated[
        str,
        typer.Argument(
            help="Episode name; 'list' for the episodes, 'score' for the scorecard, "
            "'estimates' for the parameters estimated on each episode."
        ),
    ],
    approval_rate: Annotated[
        float | None,
        typer.Option("--approval-rate", help="Override every licence's approval rate (0-1)."),
    ] = None,
    leakage: Annotated[
        float | None, typer.Option("--leakage", help="Override every measure's leakage.")
    ] = None,
    shipped: Annotated[
        bool,
        typer.Option(
            "--shipped",
            help="Run with the rule files' own values (in sample), not the held-out ones.",
        ),
    ] = False,
    draws: Annotated[
        int, typer.Option("--draws", min=0, help="Ensemble members per episode.")
    ] = 32,
    seed: Annotated[int, typer.Option("--seed", help="Ensemble seed.")] = 20101,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
) -> None:
    """Replay episode NAME on its own world with held-out parameters, or print the scorecard.

    Each target's model value with its interval beside the observed one; in JSON the monthly
    and annual paths too. --shipped (or --approval-rate, --leakage) runs the rule files' own
    values."""
    if name == "list":
        _list(fmt)
        return
    if name == "score":
        _score(fmt, draws, seed)
        return
    if name == "estimates":
        from critmin.simulation.backtests.protocol import estimates_table

        render(estimates_table(), fmt, title="parameters estimated on each episode")
        return
    from critmin.errors import InputError
    from critmin.simulation.backtests.runner import episode_names, replay

    if name not in episode_names():
        from critmin.errors import unknown_value

        raise unknown_value("backtest", name, [*episode_names(), "list", "score", "estimates"])
    for value, label in ((approval_rate, "--approval-rate"), (leakage, "--leakage")):
        if value is not None and not 0.0 <= value <= (1.0 if label == "--approval-rate" else 5.0):
            raise InputError(f"{label} {value}: out of range")
    if not (shipped or approval_rate is not None or leakage is not None):
        from critmin.simulation.backtests.score import evaluate, parameters_used

        run = evaluate(name, draws=draws, seed=seed, with_paths=fmt is not Format.table)
        used = parameters_used()
        _render_run(
            name,
            fmt,
            run,
            f"held out (estimated on other episodes only); interval: 5-95 % of {draws} "
            f"ensemble members (seed {seed}); --shipped for the rule files' own values",
            {"held_out": _records(used[used.episode == name])},
            [*TABLE_COLUMNS, "low", "high"],
        )
        return
    values = (
        "rule-file values (in sample)"
        if approval_rate is None and leakage is None
        else f"rule files with approval_rate={approval_rate}, leakage={leakage}"
    )
    run = replay(name, approval_rate=approval_rate, leakage=leakage)
    _render_run(name, fmt, run, values, {}, TABLE_COLUMNS)
