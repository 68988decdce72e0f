"""Catalog search and catalog apply on a store of a realistic size.

Builds a store with ``--products`` products (one snapshot, in one transaction, as HQ sends it),
then times ``SaleStore.search_products`` for name, sku and barcode queries, and a 1 % price delta,
and the customer's keypad search (``kiosk.core.search.search``, in memory over ``products()``, as
the catalog screen runs it on each key) for a name typed a letter at a time and barcode digits.
Prints one JSON line of figures; asserts nothing (bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._private import private_files
from kiosk.core.search import CatalogIndex
from kiosk.ports import CatalogItem, CatalogUpdate
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore
from kiosk_common.codes import gtin_check_digit


def _ean13(n: int) -> str:
    body = f"690{n:09d}"
    return body + str(gtin_check_digit(body))


def _catalog(n: int) -> tuple[CatalogItem, ...]:
    words = ["水", "可乐", "茶", "薯片", "饼干", "巧克力", "纸巾", "电池", "牛奶", "面包"]
    return tuple(
        CatalogItem(
            f"P{i:06d}",
            f"{words[i % len(words)]} {i}",
            f"Item {i} {['water', 'cola', 'tea', 'chips', 'cookies'][i % 5]}",
            100 + i % 900,
            _ean13(i),
            f"c{i % 20}",
            True,
        )
        for i in range(n)
    )


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args(argv)
    items = _catalog(args.products)
    with private_files(), tempfile.TemporaryDirectory() as tmp:
        store = SaleStore(open_store(Path(tmp) / "kiosk.sqlite3"), "bench")
        started = time.perf_counter()
        store.apply_catalog(CatalogUpdate("snapshot", 0, 1, items, {}))
        snapshot_s = time.perf_counter() - started
        changed = tuple(
            CatalogItem(i.sku, i.name_zh, i.name_en, i.price_fen + 1, i.barcode, i.category, True)
            for i in items[::100]  # 1 %
        )
        started = time.perf_counter()
        store.apply_catalog(CatalogUpdate("delta", 1, 2, changed, {}))
        delta_s = time.perf_counter() - started
        figures: dict[str, object] = {
            "products": len(items),
            "snapshot_apply_s": round(snapshot_s, 3),
            "delta_apply_s": round(delta_s, 3),
            "delta_products": len(changed),
        }
        for label, query in (
            ("name_zh", "巧克力"),
            ("name_en", "cookies"),
            ("sku", "P0012"),
            ("barcode", "0001234"),
        ):
            samples = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                found = store.search_products(query, 20)
                samples.append(time.perf_counter() - t0)
            figures[f"search_{label}"] = {**_ms(samples), "found": len(found)}
        t0 = time.perf_counter()
        index = CatalogIndex(store.products())
        figures["keypad_index_ms"] = round((time.perf_counter() - t0) * 1000, 3)
        for label, typed in (("keypad_name", "cookies"), ("keypad_barcode", "6900000012")):
            samples = []
            for _ in range(max(1, args.repeat // 5)):
                for end in range(1, len(typed) + 1):  # each key press searches again
                    t0 = time.perf_counter()
                    result = index.search(typed[:end])
                    samples.append(time.perf_counter() - t0)
            figures[label] = {**_ms(samples), "found": result.total}
        store.db.close()
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
