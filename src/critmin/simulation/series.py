"""From cleared months to results: labelled month-by-month arrays, ensemble totals.

A central run's :class:`~critmin.market.run.Trace` becomes a Dataset [month, stage, country
(, sector)]; an ensemble's scenarios are totalled by the compiled kernel
(:func:`critmin.market.kernel.run_chunk`) or, for the exact back-end, by
:func:`summarize_trace` with the same compiled accounting (:func:`account_month`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from critmin.market.accounts import final_use_accounts
from critmin.market.chain import NONE
from critmin.market.dynamics import Drivers, parameter_vector
from critmin.market.kernel import account_month
from critmin.market.newton import excess
from critmin.market.run import Trace, chain_terms
from critmin.simulation.model import ScenarioModel
from critmin.simulation.shocks import ADDED, DEMAND, KEEP, PASSED, RELEASE, Shocks
from critmin.simulation.summary import Summary

Array = np.ndarray
ACCOUNTS = ("desired", "consumption", "demand_given_up", "unmet_need", "value_lost")


def _term_sum(activity: Array, terms: Array) -> Array:
    """[T, S, R] activities of a [S, R] term map (0 where absent)."""
    safe = np.where(terms == NONE, 0, terms)
    return np.where(terms == NONE, 0.0, activity[:, safe])


def central_dataset(
    model: ScenarioModel, trace: Trace, drivers: Drivers, months: list[str]
) -> xr.Dataset:
    """The run month by month: quantities t/month, prices USD/t and index, values USD."""
    chain, market = model.chain, model.market
    lay, st = chain.layout, chain.structure
    n_t, (n_s, n_r), n_k = len(months), market.production.shape, len(market.sectors)
    q = trace.activity
    # [T, S, R]; a region without a node at a stage has no price there (NaN)
    price_index = np.where(lay.use_node == NONE, np.nan, trace.prices[:, lay.use_node])
    reference = model.sector_reference[None] * np.transpose(drivers.demand, (0, 2, 1))[:, None]
    accounts = np.zeros((n_t, n_s, n_r, n_k, len(ACCOUNTS)))
    seg = (lay.seg_sector, lay.seg_ration, lay.seg_ceiling)
    for t in range(n_t):
        v = trace.values[t]
        for s in range(n_s):
            for r in range(n_r):
                term = lay.final_use[s, r]
                if term == NONE:
                    continue
                final_use_accounts(term, price_index[t, s, r], market.base_price[s], st.seg_ptr,
                                   v.alpha, v.beta, v.lo, v.hi, *seg, reference[t, s, r],
                                   accounts[t, s, r])
    production = _term_sum(q, lay.production)
    processing = np.zeros_like(production)
    processing[:, :-1] = production[:, 1:] / market.yields[1:, None]
    imports = _term_sum(q, lay.import_c) + _term_sum(q, lay.import_f)
    exports = _term_sum(q, lay.export_c) + _term_sum(q, lay.export_f)
    stock_change = _term_sum(q, lay.restock) - _term_sum(q, lay.release)
    stockpile = _term_sum(q, lay.even_release)
    for term in lay.price_release:
        node = st.term_node[st.term_ptr[term]]
        s, r = np.argwhere(lay.use_node == node)[0]
        stockpile[:, s, r] += q[:, term]
    maker = np.zeros_like(production)
    first_maker = st.n_terms - st.n_nodes  # market makers close the term list, node by node
    for node_map in (lay.use_node, lay.free_node):
        for (s, r), node in np.ndenumerate(node_map):
            if node != NONE:
                maker[:, s, r] += q[:, first_maker + node]
    hub_maker = np.zeros((n_t, n_s))
    for hubs in (lay.hub, lay.free_hub):
        for s_, node in enumerate(hubs):
            if node != NONE:
                hub_maker[:, s_] += q[:, first_maker + node]
    hub_index = trace.prices[:, lay.hub]
    dims3 = ("month", "stage", "country")
    dims4 = (*dims3, "sector")
    per_month = {"units": "t/month"}
    consumption = accounts[..., 1]
    return xr.Dataset(
        {
            "reference_demand": (dims4, reference, {
                "units": "t/month", "note": "final use wanted at the base price"}),
            "desired_demand": (dims4, accounts[..., 0], {
                "units": "t/month", "note": "final use wanted at the prevailing price"}),
            "consumption": (dims4, consumption, per_month),
            "shortfall": (dims4, np.maximum(reference - consumption, 0.0), {
                "units": "t/month", "note": "reference - consumption = given up + unmet"}),
            "demand_given_up": (dims4, accounts[..., 2], {
                "units": "t/month", "note": "not bought because of the higher price"}),
            "unmet_need": (dims4, accounts[..., 3], {
                "units": "t/month", "note": "wanted at the prevailing price, rationed"}),
            "value_lost": (dims4, accounts[..., 4], {
                "units": "USD", "note": "buyers' surplus lost plus rationed use at its value"}),
            "production": (dims3, production, per_month),
            "processing_input": (dims3, processing, {
                "units": "t/month", "note": "bought by the next stage's plants"}),
            "recycling": (dims3, _term_sum(q, lay.recycling), per_month),
            "imports": (dims3, imports, per_month),
            "exports": (dims3, exports, per_month),
            "price": (dims3, price_index * market.base_price[None, :, None], {"units": "USD/t"}),
            "price_index": (dims3, price_index, {"units": "1 (base = 1)"}),
            "world_price_index": (("month", "stage"), hub_index, {"units": "1 (base = 1)"}),
            "stock": (dims3, trace.stock, {"units": "t", "note": "working stock at month end"}),
            "stock_change": (dims3, stock_change, per_month),
            "stockpile_release": (dims3, stockpile, per_month),
            "market_maker": (dims3, maker, {
                "units": "t/month", "note": "sold (+) or bought (-) by the regularising "
                "market maker of the region's nodes; about 1e-6 of its volume per unit of index"}),
            "world_market_maker": (("month", "stage"), hub_maker, {
                "units": "t/month", "note": "sold (+) or bought (-) by the trade hubs' market "
                "makers"}),
            "base_price": (("stage",), market.base_price, {"units": "USD/t"}),
        },
        coords={
            "month": months,
            "stage": market.stages,
            "country": market.regions,
            "sector": market.sectors,
            "unit": ("stage", market.units),
        },
    )


def kernel_inputs(model: ScenarioModel, shocks: Shocks) -> tuple[Any, ...]:
    """The compiled kernel's arguments (all but the summary and paths) for ``shocks``."""
    chain, st, lay, base = model.chain, model.chain.structure, model.chain.layout, model.chain.base
    v = chain.values
    price_p0 = np.array(
        [st.price0[st.term_node[st.term_ptr[t]]] for t in lay.price_release], dtype=float
    )

    def csr(kind: int) -> tuple[Array, Array]:
        table = shocks.terms[kind]
        return (np.ascontiguousarray(table.ptr, dtype=np.int64),
                np.ascontiguousarray(table.rows, dtype=np.int64))

    return (
        (st.term_ptr, st.term_node, st.term_coef, st.seg_ptr, st.term_group, st.price0,
         st.volume, st.group_ptr, st.group_nodes, st.global_nodes, st.local, st.group),
        (v.alpha, v.beta, v.lo, v.hi, v.cost),
        chain_terms(chain),
        lay.price_release,
        price_p0,
        (lay.seg_sector, lay.seg_ration, lay.seg_ceiling),
        (base.production, base.capacity, base.inventory, chain.import_c_base, base.base_price),
        np.ascontiguousarray(model.sector_reference),
        lay.use_node,
        parameter_vector(chain),
        model.q_base,
        (np.ascontiguousarray(shocks.values, dtype=np.float64), *csr(KEEP), *csr(PASSED),
         *csr(DEMAND), *csr(ADDED), *csr(RELEASE),
         np.ascontiguousarray(shocks.price_stock, dtype=np.float64),
         np.ascontiguousarray(shocks.price_trigger, dtype=np.float64)),
    )


def summarize_trace(
    model: ScenarioModel, trace: Trace, drivers: Drivers, j: int, out: Summary,
    paths: tuple[Array, ...],
) -> None:
    """Row ``j`` of ``out`` (and ``paths``) from a run cleared month by month elsewhere (the
    exact back-end), with the compiled kernel's accounting."""
    chain, st, lay = model.chain, model.chain.structure, model.chain.layout
    n_k = model.sector_reference.shape[2]
    acc = np.zeros((n_k, 5))
    ref_k = np.zeros(n_k)
    short = np.zeros(model.market.n_regions, dtype=np.bool_)
    q, w, ex = np.zeros(st.n_terms), np.zeros(st.n_terms), np.zeros(st.n_nodes)
    fields = out.fields()
    months = trace.prices.shape[0]
    for t in range(months):
        v = trace.values[t]
        account_month(j, t, months, trace.prices[t], st.seg_ptr, v.alpha, v.beta, v.lo, v.hi,
                      lay.final_use, lay.use_node, model.sector_reference, drivers.demand,
                      chain.base.base_price, (lay.seg_sector, lay.seg_ration, lay.seg_ceiling),
                      acc, ref_k, short, fields, paths)
        excess(trace.prices[t], q, w, ex, st.term_ptr, st.term_node, st.term_coef, st.seg_ptr,
               st.price0, v.alpha, v.beta, v.lo, v.hi, v.cost)
        out.balance_error[j] = max(out.balance_error[j], float(np.abs(ex / st.volume).max()))
    out.steps[j] = 0
