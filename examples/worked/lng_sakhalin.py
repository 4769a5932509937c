"""What would leaving Sakhalin-2 cost Japan, and what do the 2030 US volumes change?

Japan's LNG suppliers in 2024 (BACI), then a Sakhalin-2 stop in January 2026 month by month,
then the same stop in January 2031 without and with the JERA and Tokyo Gas US volumes.
Method: docs/methods/lng.md.
"""

from __future__ import annotations

import critmin.lng as lng

shares = lng.supplier_shares(2024)
print("Japan's LNG suppliers, 2024 (BACI, HS 271111):")
for row in shares.head(6).itertuples():
    print(f"  {row.source}  {row.quantity_t / 1e6:5.2f} Mt  {100 * row.share:4.1f} %")
print(f"  total {shares['quantity_t'].sum() / 1e6:.2f} Mt, HHI {lng.hhi(shares['share']):,.0f}")

stop = lng.load_lng_scenario("examples/lng/sakhalin2_stop_now.yaml")
result = lng.simulate_lng(stop)
print("\nSakhalin-2 stops in January 2026 (first six months):")
print("  month    gap    stock    spot index  extra cost")
for row in result.monthly.head(6).itertuples():
    print(
        f"  {row.month}  {100 * row.gap_share:4.1f} %  {row.storage_days:4.1f} d  "
        f"{row.price_index:10.3f}  {row.extra_cost_usd / 1e6:6.0f} M USD"
    )
s = result.summary
print(
    f"  storage bridges {s['months_bridged']} months (exhausted: {s['storage_exhausted']}); "
    f"24-month cost {s['extra_cost_usd'] / 1e9:.2f} bn USD"
)

later = lng.compare_us_volumes(lng.shifted(stop, "2031-01")).summary().set_index("variant")
print("\nThe same stop in January 2031, without and with the 2030 US volumes:")
for key, label, scale, unit in (
    ("gap_first_month_share", "first-month gap", 100, "%"),
    ("min_storage_days", "lowest stock", 1, "days"),
    ("us_share", "US share", 100, "%"),
    ("supplier_hhi", "HHI", 1, ""),
    ("disruption_cost_usd", "disruption cost", 1e-9, "bn USD"),
):
    a, b = (later.loc[v, key] * scale for v in ("without_us_volumes", "with_us_volumes"))
    print(f"  {label:16s} {a:8.2f} -> {b:8.2f} {unit}")
