"""The service's limits and switches, with the defaults a deployment starts from.

Every limit is per server process (the rate limiters and the admission count live in
memory); run N processes behind a proxy and the per-token and per-address rates are N
times these. ``critmin serve`` sets them from its options.
"""

from __future__ import annotations

from dataclasses import dataclass

KIB = 1024


@dataclass(frozen=True)
class Settings:
    """Limits on requests, rates, sessions and the simulation queue."""

    max_header_bytes: int = 16 * KIB
    """request line plus headers; beyond it the connection answers 431 and closes"""
    max_body_bytes: int = 256 * KIB
    """JSON bodies; beyond it 413 before any parsing"""
    max_csv_bytes: int = 4 * KIB * KIB
    """``text/csv`` uploads (the CSV import)"""
    token_rate: float = 20.0
    """requests per second one token (or session) may make, on average"""
    token_burst: float = 60.0
    """requests one token may make at once before :attr:`token_rate` applies"""
    address_rate: float = 300.0
    """requests per second from one client address (behind a proxy: see docs/service.md)"""
    address_burst: float = 600.0
    auth_failure_rate: float = 1.0
    """failed sign-ins per second one address may make, on average, once the burst is spent"""
    auth_failure_burst: float = 20.0
    max_inflight: int = 64
    """requests being served at once; more answer 503 at once instead of queueing"""
    worker_threads: int = 8
    """threads running the routes' database work (more only contend for the GIL)"""
    max_write_queue: int = 32
    """SQLite: writes waiting for the single writer; more answer 503 at once"""
    simulation_workers: int = 1
    """processes running simulations (each takes about one CPU while it runs)"""
    simulation_queue: int = 4
    """simulations running or waiting at once; more answer 503"""
    api_token_days: int = 90
    """lifetime of a new API token"""
    session_hours: int = 12
    """lifetime of a dashboard session"""
    max_tokens_per_user: int = 5
    """live API tokens a user may hold; a new one beyond revokes the oldest"""
    api_docs: bool = False
    """serve the interactive API docs (/docs, /redoc); they load scripts from a CDN"""
    secure_cookies: bool | None = None
    """mark the session cookie Secure; None: when the request came over HTTPS"""
