"""`make bench`: every benchmark in turn; each writes its section of benchmarks/RESULTS.md."""

import importlib

BENCHMARKS = [
    "benchmarks.password_check",
    "benchmarks.mailbox_ingest",
    "benchmarks.smtp_source",
    "benchmarks.edasi_latency",
    "benchmarks.load",
    "benchmarks.pages",
]

for name in BENCHMARKS:
    print(f"== {name}", flush=True)
    importlib.import_module(name).main()
