"""``payments.gateway = "none"``: the shipped default, until an installer commissions the kiosk.

A kiosk that nobody has given payment credentials must not pretend it can take money. This gateway
refuses every charge with a reason that says what to set, and cannot settle or refund anything
(those raise :class:`~kiosk.ports.GatewayError`, so a payment stays open for staff rather than being
closed on a guess). The checkout never gets as far as a charge: it tells the customer to call staff
when payments are off (``ControllerOptions.payments_enabled``), and ``kiosk doctor`` fails the gateway
check with the same advice.
"""

from __future__ import annotations

from kiosk.core.payment import ChannelRules
from kiosk.ports import ChargeRequest, ChargeResult, ChargeStatus, GatewayError, RefundRequest

REASON = (
    "PAYMENT_NOT_CONFIGURED: this kiosk has no payment gateway; set payments.gateway to wechat, alipay "
    "or wechat+alipay with the merchant's credentials (see docs/payments.md)"
)


class UnconfiguredGateway:
    name = "none"
    rules = ChannelRules("none", query_interval_s=5.0, give_up_after_s=45.0)

    def rules_for(self, channel: str) -> ChannelRules:
        return self.rules

    def pay(self, request: ChargeRequest) -> ChargeResult:
        return ChargeResult(ChargeStatus.FAILED, request.out_trade_no, reason=REASON)

    def query(self, out_trade_no: str) -> ChargeResult:
        raise GatewayError(REASON)

    def cancel(self, out_trade_no: str) -> ChargeResult:
        raise GatewayError(REASON)

    def refund(self, request: RefundRequest) -> ChargeResult:
        raise GatewayError(REASON)
