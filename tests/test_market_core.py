"""The clearing contract and its two back-ends: hand-solved cases, random markets, laws."""

from __future__ import annotations

import numpy as np
import pytest

from critmin.market import newton
from critmin.market.exact import solve_exact
from critmin.market.problem import GLOBAL, MARKET_MAKER_SLOPE, Builder, Structure, Values

AGREE = 1e-9  # measured: 8e-12 (prices) and 5e-11 (activities) over 200 random markets


def compiled(st: Structure, v: Values, start: np.ndarray | None = None) -> tuple:
    p = np.ones(st.n_nodes) if start is None else start.copy()
    q = np.zeros(st.n_terms)
    steps = newton.clear(st, v, p, q)
    assert steps >= 0, "compiled back-end did not converge"
    return p, q


def imbalance(st: Structure, v: Values, p: np.ndarray) -> np.ndarray:
    q, w, out = np.zeros(st.n_terms), np.zeros(st.n_terms), np.zeros(st.n_nodes)
    newton.excess(p, q, w, out, st.term_ptr, st.term_node, st.term_coef, st.seg_ptr,
                  st.price0, v.alpha, v.beta, v.lo, v.hi, v.cost)
    return out


def random_market(rng: np.random.Generator) -> tuple[Structure, Values]:
    """Regions (groups) with a chain of stages, one trade hub per stage; random curves."""
    n_r, n_s = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    b = Builder()
    p0 = [1000.0 * (1 + s) ** 1.5 for s in range(n_s)]
    hubs = [b.node(f"hub{s}", GLOBAL, p0[s], 100.0) for s in range(n_s)]
    nodes = [[b.node(f"r{r}s{s}", r, p0[s], 100.0) for s in range(n_s)] for r in range(n_r)]
    yields = [1.0] + [float(rng.uniform(0.5, 2.0)) for _ in range(1, n_s)]
    for r in range(n_r):
        for s in range(n_s):
            n = nodes[r][s]
            if s == 0:
                q = rng.uniform(0, 100)
                beta = rng.uniform(0.1, 2) * q / p0[s]
                b.term(f"supply{r}{s}", {n: 1.0}, [
                    (q - beta * p0[s], beta, 0.0, q),
                    (-0.3 * q, 0.3 * q / p0[s], 0.0, rng.uniform(0, 30)),
                ])
            else:
                z = rng.uniform(0, 80)
                beta = rng.uniform(0.1, 2) * z / p0[s]
                b.term(f"process{r}{s}", {n: 1.0, nodes[r][s - 1]: -1.0 / yields[s]},
                       [(z, beta, 0.0, z * rng.uniform(1, 1.5))],
                       cost=p0[s] - p0[s - 1] / yields[s])
            d = rng.uniform(0, 60)
            for k in range(3):
                beta = rng.uniform(0.05, 1) * d / p0[s]
                b.term(f"demand{r}{s}{k}", {n: -1.0},
                       [(d / 3 + beta * p0[s], beta, 0.0, d / 3 * rng.uniform(1, 2))])
            slope = rng.uniform(0.5, 20) * 30 / p0[s]
            b.term(f"export{r}{s}", {n: -1.0, hubs[s]: 1.0},
                   [(rng.uniform(0, 10), slope, 0.0, np.inf)])
            cap = float(rng.choice([np.inf, rng.uniform(0, 5)]))
            b.term(f"import{r}{s}", {hubs[s]: -1.0, n: 1.0},
                   [(rng.uniform(0, 10), slope, 0.0, cap)])
    return b.build()


def test_two_regions_hand_solved() -> None:
    """Region A supplies q = 10 + 10 (p - 1) (index units), region B demands
    q = 30 - 10 p, one arc A -> B with q = 20 (pB - pA): three linear equations.

    With supply S = 10 pA, demand D = 30 - 10 pB and arc f = 20 (pB - pA), clearing gives
    S = f = D: 10 pA = 20 (pB - pA) = 30 - 10 pB, so pA = 1.2, pB = 1.8, flow 12 (market
    makers move this by about their slope, 1e-6 of the volume scale)."""
    b = Builder()
    a = b.node("A", 0, 100.0, 10.0)
    c = b.node("B", 0, 100.0, 10.0)
    b.term("supply", {a: 1.0}, [(0.0, 10.0 / 100.0, 0.0, np.inf)], cost=0.0)
    b.term("demand", {c: -1.0}, [(30.0, 10.0 / 100.0, 0.0, np.inf)])
    b.term("arc", {a: -1.0, c: 1.0}, [(0.0, 20.0 / 100.0, 0.0, np.inf)])
    st, v = b.build()
    p, q = compiled(st, v)
    pe, qe = solve_exact(st, v)
    tol = 50 * MARKET_MAKER_SLOPE
    assert p[a] == pytest.approx(1.2, abs=tol)
    assert p[c] == pytest.approx(1.8, abs=tol)
    assert q[st.term("arc")] == pytest.approx(12.0, abs=tol * 10)
    np.testing.assert_allclose(pe, p, rtol=0, atol=AGREE)
    np.testing.assert_allclose(qe, q, rtol=0, atol=AGREE * 10)


def test_cap_splits_prices() -> None:
    """The same market with the arc capped at 6 t: A keeps 10 pA = 6, B clears 30 - 10 pB = 6."""
    b = Builder()
    a = b.node("A", 0, 100.0, 10.0)
    c = b.node("B", 0, 100.0, 10.0)
    b.term("supply", {a: 1.0}, [(0.0, 0.1, 0.0, np.inf)])
    b.term("demand", {c: -1.0}, [(30.0, 0.1, 0.0, np.inf)])
    b.term("arc", {a: -1.0, c: 1.0}, [(0.0, 0.2, 0.0, 6.0)])
    st, v = b.build()
    p, _ = compiled(st, v)
    assert p[a] == pytest.approx(0.6, abs=1e-4)
    assert p[c] == pytest.approx(2.4, abs=1e-4)
    np.testing.assert_allclose(solve_exact(st, v)[0], p, rtol=0, atol=AGREE)


@pytest.mark.parametrize("seed", range(4))
def test_backends_agree_on_random_markets(seed: int) -> None:
    """200 random markets (4 x 50): prices and activities agree to 1e-9; every node
    balances to the compiled back-end's tolerance."""
    rng = np.random.default_rng(seed)
    for _ in range(50):
        st, v = random_market(rng)
        p, q = compiled(st, v)
        pe, qe = solve_exact(st, v)
        assert np.abs(imbalance(st, v, p) / st.volume).max() <= newton.TOLERANCE
        np.testing.assert_allclose(pe, p, rtol=AGREE, atol=AGREE)
        np.testing.assert_allclose(qe, q, rtol=AGREE, atol=AGREE)


def test_solution_does_not_depend_on_start() -> None:
    st, v = random_market(np.random.default_rng(11))
    p1, q1 = compiled(st, v)
    p2, q2 = compiled(st, v, start=np.full(st.n_nodes, 3.0))
    np.testing.assert_allclose(p2, p1, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(q2, q1, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_held_factorisation_gives_the_same_bits(seed: int) -> None:
    """A workspace keeps the Newton system's factorisation and redoes only the groups whose
    active set changed: month after month (one region's curves moved at a time), clearing
    with it gives the same bits as with a fresh workspace from the same start."""
    rng = np.random.default_rng(seed)
    for _ in range(10):
        st, v0 = random_market(rng)
        work = newton.workspace(st.n_nodes, st.n_terms, st.group_ptr, st.global_nodes.size)
        p = np.ones(st.n_nodes)
        q = np.zeros(st.n_terms)
        v = v0.copy()
        for _month in range(8):
            g = int(rng.integers(0, st.group_ptr.size - 1))
            factor = float(rng.uniform(0.7, 1.3))
            for t in np.flatnonzero(st.term_group == g):
                segs = slice(st.seg_ptr[t], st.seg_ptr[t + 1])
                v.alpha[segs] = v0.alpha[segs] * factor
                v.hi[segs] = v0.hi[segs] * factor
            start = p.copy()
            assert newton.clear(st, v, p, q, work) >= 0
            p_fresh, q_fresh = start.copy(), np.zeros(st.n_terms)
            assert newton.clear(st, v, p_fresh, q_fresh) >= 0
            assert np.array_equal(p, p_fresh)
            assert np.array_equal(q, q_fresh)


def test_builder_rejects_bad_terms() -> None:
    b = Builder()
    a = b.node("A", 0, 1.0, 1.0)
    c = b.node("B", 1, 1.0, 1.0)
    with pytest.raises(ValueError, match="several groups"):
        b.term("bad", {a: 1.0, c: -1.0}, [(0.0, 1.0, 0.0, 1.0)])
    with pytest.raises(ValueError, match="beta >= 0"):
        b.term("bad", {a: 1.0}, [(0.0, -1.0, 0.0, 1.0)])
    with pytest.raises(ValueError, match="base price must be positive"):
        b.node("C", 0, 0.0, 1.0)
