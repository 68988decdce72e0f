"""The payment gateway simulator: WeChat Pay v2 and Alipay on loopback HTTP, with a ledger.

It stands in for what is outside the product (the payment channels) in the demo, the tests and the
benchmarks. Production code never imports it; an import-linter contract keeps it so.
"""
