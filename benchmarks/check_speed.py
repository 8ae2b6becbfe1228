"""Benchmark (not a test): notes/s and peak memory for checking the annotated records.

    python benchmarks/check_speed.py [--repeat N] [--no-model] [PATH ...]

Builds the checker once (reported apart; with the evidence model in models/ when there is one,
unless --no-model), then checks every record N times in one process
and reports documents and records per second, and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from nlp.checker import Checker
from nlp.records import Record, read_records

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=[str(p) for p in sorted((ROOT / "annotated_notes").glob("*.jsonl"))])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--no-model", action="store_true", help="rules only")
    args = parser.parse_args()
    started = time.perf_counter()
    checker = Checker(models_dir=None) if args.no_model else Checker()
    built = time.perf_counter() - started
    records = [r for r in read_records(args.paths) if isinstance(r, Record)]
    documents = sum(len(r.documents) for r in records)
    words = sum(len(d.text.split()) for r in records for d in r.documents)
    started = time.perf_counter()
    for _ in range(args.repeat):
        for record in records:
            checker.check(record)
    elapsed = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"checker built in {built:.2f} s ({'rules and evidence model' if checker.uses_model else 'rules only'})")
    print(f"{len(records)} records, {documents} documents, {words / documents:.0f} words per document, x{args.repeat}")
    print(f"{args.repeat * len(records) / elapsed:.1f} records/s, {args.repeat * documents / elapsed:.1f} notes/s "
          f"({1000 * elapsed / (args.repeat * documents):.1f} ms per note)")
    print(f"peak memory {peak_mib:.0f} MiB (resident, whole process)")


if __name__ == "__main__":
    main()
