"""Every text a customer or staff member reads on the kiosk screen, in zh_CN and en.

One flat table per language, keyed by dotted names (``cart.pay``). Both tables must hold exactly
the same keys: a key missing in one language would leave a blank or a crash in front of a
customer, so ``tests/ui/test_i18n.py`` compares them and checks every ``Notice`` has a text.
Texts may hold ``{fields}`` filled by :func:`t`.
"""

from __future__ import annotations

from typing import Final

from kiosk.core.checkout import Notice

LANGUAGES: Final = ("zh_CN", "en")

#: the other language, for the language toggle and the attract screen's second line
OTHER_LANGUAGE: Final = {"zh_CN": "en", "en": "zh_CN"}

_ZH: Final[dict[str, str]] = {
    # language toggle (each language named in itself, so both tables say the same)
    "lang.zh_CN": "中文",
    "lang.en": "EN",
    # attract
    "attract.tap_to_start": "点击开始",
    "attract.subtitle": "自助结账  手机扫码付款",
    "attract.accepted": "支持 微信支付 · 支付宝",
    "attract.scan_hint": "也可以直接扫描商品条码",
    # cart
    "cart.title": "选择商品",
    "cart.category_all": "全部",
    "cart.your_cart": "购物车",
    "cart.empty": "购物车是空的\n点击左侧商品即可加入",
    "cart.items": "共 {count} 件",
    "cart.total": "合计",
    "cart.pay": "付款 {total}",
    "cart.cancel": "取消",
    "cart.each": "单价 {price}",
    "cart.no_products": "暂无可售商品，请联系工作人员",
    # categories (a catalog category without an entry here is shown as it is)
    "category.drinks": "饮料",
    "category.snacks": "零食",
    "category.food": "食品",
    "category.fruit": "水果",
    "category.dairy": "乳品",
    "category.daily": "日用品",
    "category.household": "日用品",
    "category.other": "其他",
    # pay
    "pay.title": "扫码付款",
    "pay.show_code": "请出示付款码",
    "pay.how": "打开微信或支付宝的付款码，\n对准摄像头",
    "pay.amount_due": "应付金额",
    "pay.amount_paid": "已付金额",
    "pay.charging": "正在付款，请稍候…",
    "pay.camera_starting": "摄像头启动中…",
    "pay.back": "返回购物车",
    "pay.paid": "付款成功",
    "pay.printing": "正在打印小票，请稍候…",
    "pay.demo": "演示：出示样例付款码",
    # sample payment codes (demo buttons); a name is <channel>_<outcome>
    "sample.channel.wechat": "微信",
    "sample.channel.alipay": "支付宝",
    "sample.outcome.ok": "付款成功",
    "sample.outcome.password": "需输入密码",
    "sample.outcome.declined": "余额不足",
    "sample.outcome.unknown": "无应答",
    # done
    "done.title": "完成",
    "done.thanks": "谢谢惠顾！",
    "done.take_receipt": "请取走您的小票",
    "done.paid": "已付 {total}",
    "done.receipt": "小票",
    "done.no_receipt": "小票内容暂无法显示",
    "done.back": "完成",
    # needs help
    "help.title": "需要协助",
    "help.wait": "请稍候，工作人员马上到",
    "help.called": "您无需任何操作，工作人员已收到通知。",
    "help.staff": "工作人员",
    "help.order": "订单 {order}",
    "help.detail": "详情：{detail}",
    "help.resolve": "已处理，恢复服务",
    # notices (kiosk.core.checkout.Notice)
    "notice.none": "",
    "notice.unknown_product": "无法识别该商品，请联系工作人员",
    "notice.cart_empty": "请先选择商品",
    "notice.cart_limit": "已达到单笔购买上限",
    "notice.finish_payment_first": "请先完成付款",
    "notice.scan_items_first": "请先选择商品，再出示付款码",
    "notice.payment_in_progress": "正在付款，请稍候",
    "notice.payment_declined": "付款未成功，请换一种付款方式再试",
    "notice.not_a_payment_code": "这不是付款码，请出示微信或支付宝付款码",
    "notice.code_already_used": "此付款码已使用，请刷新付款码后再试",
    "notice.printer_not_ready": "打印机暂不可用，工作人员马上到",
    "notice.payment_unknown": "付款结果未确认，请勿重复付款",
    "notice.receipt_failed": "已付款成功，小票未能打印，工作人员将为您补打",
    "notice.order_not_saved": "订单未能保存，未扣款，请重试",
    "notice.payment_not_configured": "本机暂未开通付款，工作人员马上到",
    "notice.checking_last_payment": "正在核对上一笔付款，请勿重复付款",
    # start-up recovery
    "recovering.title": "请稍候",
    "recovering.wait": "正在核对上一笔付款",
    "recovering.hint": "请勿重复付款。如已付款，小票将自动打印。",
}

_EN: Final[dict[str, str]] = {
    "lang.zh_CN": "中文",
    "lang.en": "EN",
    "attract.tap_to_start": "Tap to start",
    "attract.subtitle": "Check out yourself, pay with your phone",
    "attract.accepted": "WeChat Pay · Alipay accepted",
    "attract.scan_hint": "or simply scan an item's barcode",
    "cart.title": "Choose your items",
    "cart.category_all": "All",
    "cart.your_cart": "Your cart",
    "cart.empty": "Your cart is empty\nTap an item to add it",
    "cart.items": "Items: {count}",
    "cart.total": "Total",
    "cart.pay": "Pay {total}",
    "cart.cancel": "Cancel",
    "cart.each": "{price} each",
    "cart.no_products": "Nothing for sale yet; please ask staff",
    "category.drinks": "Drinks",
    "category.snacks": "Snacks",
    "category.food": "Food",
    "category.fruit": "Fruit",
    "category.dairy": "Dairy",
    "category.daily": "Household",
    "category.household": "Household",
    "category.other": "Other",
    "pay.title": "Pay",
    "pay.show_code": "Show your payment code",
    "pay.how": "Open the payment code in WeChat or Alipay\nand hold it up to the camera",
    "pay.amount_due": "Amount due",
    "pay.amount_paid": "Amount paid",
    "pay.charging": "Payment in progress, please wait…",
    "pay.camera_starting": "Starting the camera…",
    "pay.back": "Back to cart",
    "pay.paid": "Payment received",
    "pay.printing": "Printing your receipt…",
    "pay.demo": "Demo: hold up a sample code",
    "sample.channel.wechat": "WeChat",
    "sample.channel.alipay": "Alipay",
    "sample.outcome.ok": "approved",
    "sample.outcome.password": "password required",
    "sample.outcome.declined": "declined",
    "sample.outcome.unknown": "no answer",
    "done.title": "Done",
    "done.thanks": "Thank you!",
    "done.take_receipt": "Please take your receipt",
    "done.paid": "Paid {total}",
    "done.receipt": "Receipt",
    "done.no_receipt": "The receipt cannot be shown here",
    "done.back": "Done",
    "help.title": "Assistance",
    "help.wait": "Please wait, staff are coming",
    "help.called": "You do not need to do anything; staff have been called.",
    "help.staff": "Staff",
    "help.order": "Order {order}",
    "help.detail": "Detail: {detail}",
    "help.resolve": "Resolved, back to service",
    "notice.none": "",
    "notice.unknown_product": "This item is not recognised; please ask staff",
    "notice.cart_empty": "Please add an item first",
    "notice.cart_limit": "That is the most one sale can hold",
    "notice.finish_payment_first": "Please finish paying first",
    "notice.scan_items_first": "Pick your items first, then show your payment code",
    "notice.payment_in_progress": "Payment in progress, please wait",
    "notice.payment_declined": "Payment declined; please try another way to pay",
    "notice.not_a_payment_code": "That is not a payment code; show a WeChat or Alipay payment code",
    "notice.code_already_used": "This payment code was already used; refresh it and try again",
    "notice.printer_not_ready": "The receipt printer is not ready; staff are on their way",
    "notice.payment_unknown": "We could not confirm your payment; please do not pay again",
    "notice.receipt_failed": "Payment received, but the receipt did not print; staff will reprint it",
    "notice.order_not_saved": "The order could not be saved and nothing was charged; please try again",
    "notice.payment_not_configured": "Payment is not set up on this kiosk yet; staff are on their way",
    "notice.checking_last_payment": "We are checking the last payment; please do not pay again",
    # start-up recovery
    "recovering.title": "One moment",
    "recovering.wait": "We are checking the last payment",
    "recovering.hint": "Please do not pay again. If you paid, your receipt will print by itself.",
}

TEXTS: Final[dict[str, dict[str, str]]] = {"zh_CN": _ZH, "en": _EN}


def t(key: str, language: str, **fields: object) -> str:
    """The text for ``key`` in ``language``, with ``{fields}`` filled in.

    An unknown key or language raises: both are programming errors that the tests catch, and a
    silent fallback would put an English key name in front of a Chinese customer.
    """
    try:
        table = TEXTS[language]
    except KeyError:
        raise ValueError(f"unknown language {language!r}; use one of {', '.join(LANGUAGES)}") from None
    try:
        text = table[key]
    except KeyError:
        raise KeyError(f"no {language} text for {key!r}; add it to kiosk/i18n.py in both languages") from None
    return text.format(**fields) if fields else text


def has_text(key: str) -> bool:
    """True when ``key`` exists (in every language, which the tests guarantee)."""
    return all(key in table for table in TEXTS.values())


def notice_key(notice: Notice) -> str:
    return f"notice.{notice.value or 'none'}"


def notice_text(notice: Notice, language: str) -> str:
    return t(notice_key(notice), language)
