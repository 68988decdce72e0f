"""What the kiosk, its drivers and HQ all need, and nothing else: code checks, masking, layered settings.

It imports nothing from ``kiosk``, ``drivers`` or ``hq`` (an import-linter contract keeps it so), so the
drivers can use it without reaching into the application above them.
"""
