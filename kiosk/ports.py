"""The small interfaces the kiosk talks to the outside world through.

Adapters are named for their technology (``EscposReceiptPrinter``, ``ZxingDecoder``,
``GpiozeroIndicators``, ``SimulatorGateway``, ``HttpHqClient``); fakes are ``Fake<Port>`` and
subclass nothing but honour the same protocol. ``kiosk.bootstrap`` is the one place that picks them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from drivers.camera.types import Decoded as Decoded
from drivers.camera.types import Decoder as Decoder
from drivers.camera.types import Frame as Frame
from drivers.camera.types import FrameSource as FrameSource
from drivers.gpio.types import Light as Light
from kiosk.core.money import Fen
from kiosk.core.receipt import ReceiptLayout

# --- camera ---------------------------------------------------------------------------------------
# ``Frame``, ``FrameSource``, ``Decoded`` and ``Decoder`` are defined by the camera drivers, which own
# what they produce and import nothing from the kiosk; they are re-exported here under the same names.

# --- printer --------------------------------------------------------------------------------------


class PrinterError(RuntimeError):
    """The printer could not print (offline, out of paper, cable pulled). The sale is unaffected."""


class ReceiptPrinter(Protocol):
    def is_ready(self) -> bool:
        """True when the printer can take a receipt now (online, paper, cover closed)."""

    def print_receipt(self, layout: ReceiptLayout) -> None:
        """Print and cut one receipt, or raise PrinterError."""

    def close(self) -> None: ...


# --- indicators (GPIO) ----------------------------------------------------------------------------
# ``Light`` is defined by the GPIO drivers and re-exported here; ``Indicators`` is the kiosk's port.


class Indicators(Protocol):
    def show(self, light: Light) -> None: ...

    def beep(self, error: bool = False) -> None: ...

    def close(self) -> None: ...


# --- payment --------------------------------------------------------------------------------------


class ChargeStatus(enum.StrEnum):
    PAID = "paid"
    FAILED = "failed"
    USER_PAYING = "user_paying"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    out_trade_no: str
    channel: str  # "wechat" | "alipay"
    auth_code: str
    amount_fen: Fen
    subject: str


@dataclass(frozen=True, slots=True)
class ChargeResult:
    status: ChargeStatus
    out_trade_no: str
    transaction_id: str = ""
    reason: str = ""
    #: a cancel/reverse the gateway asks to repeat (WeChat Pay ``recall=Y``, Alipay ``retry_flag=Y``)
    retry: bool = False


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """Give back ``amount_fen`` of a paid charge. ``out_refund_no`` is committed before the call, so a
    repeat after a lost answer is the same refund, never a second one."""

    out_trade_no: str
    out_refund_no: str
    amount_fen: Fen
    total_fen: Fen
    reason: str = ""


class GatewayError(RuntimeError):
    """The gateway could not be reached or answered nonsense: the outcome is unknown, not failed."""


class PaymentGateway(Protocol):
    name: str

    def pay(self, request: ChargeRequest) -> ChargeResult: ...

    def query(self, out_trade_no: str) -> ChargeResult: ...

    def cancel(self, out_trade_no: str) -> ChargeResult: ...

    def refund(self, request: RefundRequest) -> ChargeResult:
        """REFUNDED, FAILED (refused for good), or GatewayError (unknown: repeat the same request)."""


# --- HQ -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CatalogItem:
    sku: str
    name_zh: str
    name_en: str
    price_fen: Fen
    barcode: str | None
    category: str
    active: bool = True


class HqError(RuntimeError):
    """HQ unreachable, refused the key, or answered something we cannot use."""


class HqClient(Protocol):
    def push_sales(self, sales: Sequence[dict[str, Any]]) -> list[str]:
        """Upload sales (the outbox payloads); return the order ids HQ has stored (new or already known)."""

    def push_refunds(self, refunds: Sequence[dict[str, Any]]) -> list[str]:
        """Upload refunds (the outbox payloads); return the ``out_refund_no`` HQ holds (new or known).
        A refund HQ refuses (its sale not there yet) is left out, to be sent again later."""

    def fetch_catalog(self) -> list[CatalogItem]: ...


# --- outbox (the local queue of events waiting to reach HQ) ---------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    kind: str  # "sale" or "refund"
    payload: dict[str, Any]
    attempts: int


class Outbox(Protocol):
    """The store side of sync: what is due for upload, and what became of an upload."""

    def due(self, limit: int) -> list[OutboxItem]:
        """Items not yet sent whose retry time has come, oldest first."""

    def mark_sent(self, ids: Sequence[int]) -> None: ...

    def mark_failed(self, ids: Sequence[int], error: str, retry_in_s: float) -> None:
        """Count an attempt and hold the items back for ``retry_in_s`` seconds."""

    def pending_count(self) -> int: ...
