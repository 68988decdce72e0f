"""``ChannelRouter``: one :class:`~kiosk.ports.PaymentGateway` in front of one gateway per channel.

A kiosk with both channels configured sends a WeChat Pay code to WeChat Pay and an Alipay code to
Alipay. ``pay`` routes by the request's channel; ``query``, ``cancel`` and ``refund`` carry only an
``out_trade_no``, so the router asks ``channel_of`` (the store's record of the payment) which
channel it went to. That answer survives a restart, unlike anything kept in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from kiosk.core.payment import ChannelRules
from kiosk.ports import ChargeRequest, ChargeResult, GatewayError, PaymentGateway, RefundRequest


class ChannelRouter:
    def __init__(
        self, gateways: Mapping[str, PaymentGateway], channel_of: Callable[[str], str | None]
    ) -> None:
        if not gateways:
            raise ValueError("at least one channel gateway is needed")
        self.gateways = dict(gateways)
        self._channel_of = channel_of
        self.name = "+".join(sorted(self.gateways))

    def for_channel(self, channel: str) -> PaymentGateway:
        gateway = self.gateways.get(channel)
        if gateway is None:
            raise GatewayError(
                f"no {channel} gateway is configured on this kiosk (configured: {', '.join(sorted(self.gateways))})"
            )
        return gateway

    def _by_trade(self, out_trade_no: str) -> PaymentGateway:
        channel = self._channel_of(out_trade_no)
        if channel is None:
            if len(self.gateways) == 1:
                return next(iter(self.gateways.values()))
            raise GatewayError(f"payment {out_trade_no} is not in the store; cannot tell its channel")
        return self.for_channel(channel)

    def rules_for(self, channel: str) -> ChannelRules:
        return self.for_channel(channel).rules_for(channel)

    def pay(self, request: ChargeRequest) -> ChargeResult:
        return self.for_channel(request.channel).pay(request)

    def query(self, out_trade_no: str) -> ChargeResult:
        return self._by_trade(out_trade_no).query(out_trade_no)

    def cancel(self, out_trade_no: str) -> ChargeResult:
        return self._by_trade(out_trade_no).cancel(out_trade_no)

    def refund(self, request: RefundRequest) -> ChargeResult:
        return self._by_trade(request.out_trade_no).refund(request)

    def close(self) -> None:
        for gateway in self.gateways.values():
            close = getattr(gateway, "close", None)
            if callable(close):
                close()
