"""The receipt printer driver: plain arguments in, nothing imported from ``kiosk`` or ``hq``.

| module | what it holds |
|---|---|
| ``document`` | ``ReceiptDocument``: what a driver prints (header, body, footer, QR payload) |
| ``status`` | ``PrinterStatus`` and the pure decoding of ``DLE EOT`` replies |
| ``errors`` | ``PrinterError``, ``PrintFault`` and its ``FaultKind`` |
| ``commands`` | the ESC/POS bytes of a receipt (encoding, QR, NV logo, cut); pure |
| ``transports`` | serial, USB and network printer objects, opening, closing, reading replies |
| ``escpos_printer`` | ``EscposReceiptPrinter``: the parts together, and what a failure means |
| ``file_printer`` / ``no_printer`` | receipts as text files; no printer at all |
| ``factory`` | ``PrinterConfig`` and ``open_printer(config)`` |

Nothing is imported here, so ``kiosk.ports`` can take the data types without loading pyserial.
"""
