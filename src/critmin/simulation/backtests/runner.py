"""Replay an episode (``episodes.yaml``) with its shipped rules and compare with history.

Each target is a ratio the model computes from its monthly results (model / base, or one
window over another) beside the cited observed ratio; the error is model - observed and the
relative error model / observed - 1. Parameters are the defaults of the rule files unless
overridden (``approval_rate``, ``leakage``), which :func:`cross_validation` uses to fit a
parameter on one episode and test it on the others.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from critmin.errors import unknown_value
from critmin.simulation.elements.chain import ZONES
from critmin.simulation.elements.model import ElementResult, Shocks, simulate_elements
from critmin.simulation.elements.single import SingleResult, simulate_single
from critmin.simulation.rules.compiler import compile_rules
from critmin.simulation.rules.schema import RuleFile, load_rules

EPISODES_FILE = Path(__file__).with_name("episodes.yaml")


@cache
def episodes() -> dict[str, Any]:
    """Parsed ``episodes.yaml``."""
    data: dict[str, Any] = yaml.safe_load(EPISODES_FILE.read_text(encoding="utf-8"))
    return data


def episode_names() -> list[str]:
    """Names of the shipped backtests."""
    return list(episodes())


def _override(rule: RuleFile, approval_rate: float | None, leakage: float | None) -> RuleFile:
    measures = []
    for m in rule.measures:
        update: dict[str, Any] = {}
        if leakage is not None:
            update["leakage"] = leakage
        if approval_rate is not None and m.licence is not None:
            update["licence"] = m.licence.model_copy(update={"approval_rate": approval_rate})
        measures.append(m.model_copy(update=update))
    return rule.model_copy(update={"measures": measures})


def _months(labels: list[str], window: list[str]) -> np.ndarray:
    idx = [k for k, lab in enumerate(labels) if window[0] <= lab <= window[1]]
    return np.array(idx, dtype=int)


def _china_exports(res: ElementResult, element: str | None = None) -> np.ndarray:
    """China's net exports (t/month, positive part) at oxide + metal stages."""
    els = res.base.elements
    flows = np.clip(res.stage["net_export"][:, :, :, 0], 0.0, None)  # [month, element, stage]
    if element is not None:
        out: np.ndarray = flows[:, els.index(element), :].sum(axis=1)
        return out
    total: np.ndarray = flows.sum(axis=(1, 2))
    return total


def _base_exports(res: ElementResult, element: str | None = None) -> float:
    b = res.base
    els = [element] if element else list(b.elements)
    total = 0.0
    for el in els:
        total += max(b.oxide_flow(el), 0.0)
        if el in b.magnet_elements:
            total += max(b.metal_flow(el), 0.0)
    return total / 12.0


def _unit_value_index(res: ElementResult) -> np.ndarray:
    """Export-weighted ex-China price index of China's exports (oxide + metal) by month."""
    b = res.base
    flows = np.clip(res.stage["net_export"][:, :, :, 0], 0.0, None)
    usd = np.zeros((len(b.elements), 2))
    for e, el in enumerate(b.elements):
        usd[e, 0] = b.oxide_usd_per_t[el]
        usd[e, 1] = b.metal_usd_per_t.get(el, 0.0)
    value = (flows * usd * res.price[:, :, :, 1]).sum(axis=(1, 2))
    weight = (flows * usd).sum(axis=(1, 2))
    out: np.ndarray = np.where(weight > 0, value / np.where(weight > 0, weight, 1.0), 1.0)
    return out


def _element_metric(res: ElementResult, target: dict[str, Any]) -> float:
    metric = target["metric"]
    k = _months(res.labels, target["window"])
    els = res.base.elements
    if metric == "export_volume_ratio":
        return float(_china_exports(res)[k].sum() / (_base_exports(res) * len(k)))
    if metric == "element_exports_ratio":
        el = target["element"]
        return float(_china_exports(res, el)[k].sum() / (_base_exports(res, el) * len(k)))
    if metric == "export_unit_value_ratio":
        return float(_unit_value_index(res)[k].mean())
    if metric == "magnet_exports_ratio":
        base = res.base.magnet_flow() / 12.0
        return float(np.clip(res.magnet["net_export"][k, 0], 0, None).sum() / (base * len(k)))
    if metric == "price_spread":
        e = els.index(target["element"])
        s = ("oxide", "metal").index(target["stage"])
        ratio = res.price[k, e, s, 1] / np.maximum(res.price[k, e, s, 0], 1e-9)
        return float(ratio.mean())
    if metric == "magnet_spread_peak":
        ratio = res.magnet_price[k, 1] / np.maximum(res.magnet_price[k, 0], 1e-9)
        return float(ratio.max())
    if metric == "price_change":
        e = els.index(target["element"])
        s = ("oxide", "metal").index(target["stage"])
        z = ZONES.index(target["zone"])
        return float(res.price[k, e, s, z].mean())
    raise unknown_value("metric", metric, _METRICS)


def _single_metric(
    results: dict[str, SingleResult], labels: list[str], target: dict[str, Any]
) -> float:
    res = results[target["element"]]
    k = _months(labels, target["window"])
    ref = target.get("reference")
    if target["metric"] == "single_exports_ratio":
        num = res.exports[k].sum()
        if ref is None:
            return float(num / (res.base_exports * len(k)))
        kr = _months(labels, ref)
        return float((num / len(k)) / (res.exports[kr].sum() / len(kr)))
    if target["metric"] == "single_price_change":
        z = ZONES.index(target["zone"])
        num = res.price[k, z].mean()
        if ref is None:
            return float(num)
        return float(num / res.price[_months(labels, ref), z].mean())
    raise unknown_value("metric", target["metric"], _METRICS)


_METRICS = (
    "export_volume_ratio", "element_exports_ratio", "export_unit_value_ratio",
    "magnet_exports_ratio", "price_spread", "magnet_spread_peak", "price_change",
    "single_exports_ratio", "single_price_change",
)  # fmt: skip


def run_backtest(
    name: str, approval_rate: float | None = None, leakage: float | None = None
) -> pd.DataFrame:
    """One row per target: observed, model, error (model - observed), relative error."""
    spec = episodes().get(name)
    if spec is None:
        raise unknown_value("backtest", name, episode_names())
    rules = [_override(load_rules(r), approval_rate, leakage) for r in spec["rules"]]
    compiled = compile_rules(rules, spec["start"], int(spec["months"]))
    labels = compiled.labels
    metric: Callable[[dict[str, Any]], float]
    if spec["model"] == "elements":
        res = simulate_elements(Shocks(months=len(labels), allowed=compiled.allowed), labels=labels)

        def metric(target: dict[str, Any]) -> float:
            return _element_metric(res, target)
    else:
        single = {el: simulate_single(el, path) for el, path in compiled.commodity.items()}

        def metric(target: dict[str, Any]) -> float:
            return _single_metric(single, labels, target)

    rows = []
    for target in spec["targets"]:
        model = metric(target)
        observed = float(target["observed"])
        rows.append(
            {
                "episode": name,
                "target": target["id"],
                "label": target["label"],
                "observed": observed,
                "model": model,
                "error": model - observed,
                "relative_error": (model / observed - 1.0) if observed != 0 else float("nan"),
                "source": target["source"]["title"],
                "source_url": target["source"]["url"],
            }
        )
    return pd.DataFrame(rows)


def _fit(name: str, target: str, low: float = 0.0, high: float = 1.0) -> float:
    """Approval rate in [low, high] that makes ``target`` of ``name`` match its observation."""

    def gap(rate: float) -> float:
        frame = run_backtest(name, approval_rate=rate)
        row = frame[frame.target == target].iloc[0]
        return float(row.model - row.observed)

    g_lo, g_hi = gap(low), gap(high)
    if g_lo > 0:
        return low
    if g_hi < 0:
        return high
    for _ in range(30):
        mid = 0.5 * (low + high)
        if gap(mid) < 0:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


FITS = (("rare-earths-2025", "dy_exports_2025"), ("gallium-germanium-2023", "ge_jan_aug_2024"))
"""(episode, target) on which the licence approval rate is fitted in turn."""


def cross_validation() -> pd.DataFrame:
    """Fit the approval rate on one episode's target, test it on every other episode.

    One row per (fitted on, tested episode): the fitted rate and the mean absolute
    relative error over the tested episode's targets (targets with observed 0 left out).
    """
    rows = []
    for fit_episode, fit_target in FITS:
        rate = _fit(fit_episode, fit_target)
        for name in episode_names():
            frame = run_backtest(name, approval_rate=rate)
            rel = frame.relative_error.dropna().abs()
            rows.append(
                {
                    "fitted_on": f"{fit_episode}:{fit_target}",
                    "approval_rate": rate,
                    "tested_on": name,
                    "in_sample": name == fit_episode,
                    "mean_abs_relative_error": float(rel.mean()),
                }
            )
    # the rule files' defaults (approval 0.5: assumption; leakage 0.316: fitted on 2010), and
    # the same without leakage, to show what the 2010 fit does out of sample
    for label, leakage in (("default (rule files)", None), ("default, leakage 0", 0.0)):
        for name in episode_names():
            frame = run_backtest(name, leakage=leakage)
            rows.append(
                {
                    "fitted_on": label,
                    "approval_rate": float("nan"),
                    "tested_on": name,
                    "in_sample": label == "default (rule files)" and name == "quota-2010",
                    "mean_abs_relative_error": float(frame.relative_error.dropna().abs().mean()),
                }
            )
    return pd.DataFrame(rows)
