"""An ESC/POS receipt printer at the far end of a pseudo-terminal: parses the bytes, answers status
queries, renders what it printed.

It stands in for the thermal printer in the demo, the tests and the benchmarks. Production code never
imports it; an import-linter contract keeps it so.
"""
