"""The seam for the third channel, member stored value (会员储值), which the members release fills.

Until then ``UnconfiguredMemberGateway`` declines every member charge with a clear reason and answers
queries as "unknown", so routing, the state machine and recovery already treat a member payment like
the other channels: the members release replaces this class, nothing else.
"""

from __future__ import annotations

from kiosk.core.payment import ChannelRules
from kiosk.ports import ChargeRequest, ChargeResult, ChargeStatus, RefundRequest

MEMBER_CHANNEL = "member"
REASON = "MEMBER_PAY_NOT_AVAILABLE: member stored-value payment is not enabled on this kiosk"


class UnconfiguredMemberGateway:
    name = MEMBER_CHANNEL
    #: stored value answers at once; these plain timers only bound a query that never comes
    rules = ChannelRules(MEMBER_CHANNEL, query_interval_s=5.0, give_up_after_s=45.0)

    def rules_for(self, channel: str) -> ChannelRules:
        return self.rules

    def pay(self, request: ChargeRequest) -> ChargeResult:
        return ChargeResult(ChargeStatus.FAILED, request.out_trade_no, reason=REASON)

    def query(self, out_trade_no: str) -> ChargeResult:
        return ChargeResult(ChargeStatus.UNKNOWN, out_trade_no, reason="ORDER_NOT_EXIST")

    def cancel(self, out_trade_no: str) -> ChargeResult:
        return ChargeResult(ChargeStatus.CANCELLED, out_trade_no, reason="CLOSED")

    def refund(self, request: RefundRequest) -> ChargeResult:
        return ChargeResult(ChargeStatus.FAILED, request.out_trade_no, reason=REASON)
