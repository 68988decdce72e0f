"""Every text a customer, staff member or installer reads from the kiosk (screens, doctor), in zh_CN and en.

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
    # kiosk doctor: the installer's self-check report, all in the kiosk's language (kiosk/doctor.py)
    "doctor.title": "自助收银机自检（{kiosk_id}）",
    "doctor.status.OK": "正常",
    "doctor.status.WARN": "注意",
    "doctor.status.FAIL": "故障",
    "doctor.summary.all_ok": "全部正常",
    "doctor.summary.warnings": "没有故障，{warned} 项需要注意，请看标为“注意”的行",
    "doctor.summary.failures": "{failed} 项故障，{warned} 项需要注意，请按提示处理",
    "doctor.check.settings": "设置",
    "doctor.check.template": "小票模板",
    "doctor.check.store": "本地数据库",
    "doctor.check.alerts": "员工提醒",
    "doctor.check.printer": "打印机",
    "doctor.check.camera": "摄像头",
    "doctor.check.gateway": "支付网关",
    "doctor.check.hq": "总部",
    "doctor.settings.ok": "已读取 {path}",
    "doctor.template.ok": "已读取 {path}",
    "doctor.template.error": "小票模板 {path} 无法使用：请修正该文件（原因见日志）",
    "doctor.store.ok": "{path}：数据库版本 {schema}，完整性正常；已付款 {paid} 笔，{pending} 笔待上传总部",
    "doctor.store.unresolved": "；{count} 笔付款结果未确认，下次启动时自动核对",
    "doctor.store.error": "无法打开本地数据库 {path}：请检查文件夹权限和磁盘空间（原因见日志）",
    "doctor.store.backwards": "本地数据库 {path} 只有 {held} 笔已付款销售，而本机曾记录 {recorded} 笔：数据库已倒退（损坏、被清空或被旧副本替换），本机不会用它销售。请恢复最新备份（连同 -wal 文件）；或在总部确认已收到本机全部销售后运行 kiosk store accept（见运维手册“本地数据库无法打开”）",
    "doctor.store.damaged": "本地数据库 {path} 已损坏或无法读取，本机不会用它销售：请恢复最近的备份（见运维手册“本地数据库无法打开”，原因见日志）",
    "doctor.alerts.none": "最近 {hours} 小时内没有",
    "doctor.alerts.some": "最近 {hours} 小时内有 {count} 条，最新：{latest}",
    "doctor.alerts.error": "无法读取 {path} 中的员工提醒：请先处理本地数据库的问题（原因见日志）",
    "doctor.printer.none": "未设置打印机（[printer] transport = none），顾客拿不到小票",
    "doctor.printer.ready": "{where}：就绪",
    "doctor.printer.not_ready": "{where}：未就绪（离线、缺纸、纸仓盖打开或无应答）；请检查线缆、纸和电源",
    "doctor.printer.error": "无法打开打印机 {where}：请检查线缆、电源和 [printer] device 设置（原因见日志）",
    "doctor.camera.ok": "来源 {source}：画面 {width}x{height}",
    "doctor.camera.no_frame": "来源 {source}：2 秒内没有画面；请检查线缆或 [camera] source 设置",
    "doctor.camera.error": "无法打开摄像头（来源 {source}）：请检查线缆和 [camera] source 设置（原因见日志）",
    "doctor.gateway.none": "未配置支付网关：本机在开通前拒绝收款；请在 [payments] 中把 gateway 设为 wechat、alipay 或 wechat+alipay，并填写相应的商户密钥（见 docs/payments.md）",
    "doctor.gateway.channels_ok": "密钥和证书已加载，可连接：{reached}",
    "doctor.gateway.channel_unreachable": "无法连接 {channel} 网关 {url}：请检查网络",
    "doctor.gateway.error": "支付网关（{gateway}）无法使用：请检查 [payments] 中的设置、密钥和证书文件（原因见日志）",
    "doctor.hq.not_enrolled": "本机尚未在总部登记（没有 {path}）：请总部管理员生成登记码（hq device enroll-code --store 门店），然后运行 kiosk enroll 登记码 --hq {url}",
    "doctor.hq.credentials": "总部登记文件有问题：{problem}",
    "doctor.hq.unreachable": "无法连接总部 {url}：请检查网络和 [hq] url 设置（原因见日志）",
    "doctor.hq.refused": "总部 {url} 拒绝了本机（{kiosk_id}）的请求：本机可能已被吊销或登记已失效，请向总部要新的登记码并运行 kiosk enroll 登记码 --hq {url} --replace；也请检查 [hq] url（原因见日志）",
    "doctor.hq.ok": "{url}：登记有效，商品目录共 {count} 件",
    "doctor.hq.empty_catalog": "{url}：登记有效，但商品目录是空的，本机没有可卖的商品；请在总部导入商品（hq catalog import 文件.csv），本机下次同步时会取到",
    "doctor.hq.error": "无法检查总部 {url}：请检查网络和 [hq] 设置（原因见日志）",
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
    # kiosk enroll / kiosk sync (HQ enrolment and sync)
    "help.receipt_qr": "小票未能打印：用手机扫这个二维码查看电子小票",
    "enroll.done": "已登记：本机 {kiosk_id} 属于门店 {store}（总部 {url}）；凭据已写入 {path}（仅本用户可读）",
    "enroll.set_url": "注意：配置中的 [hq] url 是 {configured}；请改为 {url}，否则本机不会与这个总部同步",
    "enroll.bad_code": "登记码无效、已用过或已过期：请总部管理员重新生成（hq device enroll-code --store 门店），15 分钟内使用",
    "enroll.code_format": "登记码格式不对：应为 16 个字母或数字，四个一组，例如 K7QF-2M9X-PA3L-H8RD",
    "enroll.other_store": "总部拒绝：{detail}（这个收银机编号已属于另一家门店；请在那里吊销，或用 --kiosk-id 换一个编号）",
    "enroll.refused": "总部拒绝了登记（{status}）：{detail}",
    "enroll.rate_limited": "总部暂时拒绝来自本机地址的登记（尝试失败过多）：请 {seconds} 秒后再试",
    "enroll.unreachable": "无法连接总部 {url}：{reason}。请检查网络和地址（例如 http://hq.local:8080）",
    "enroll.not_hq": "{url} 的回答不是总部的登记回答（{status}）：地址是否正确？",
    "enroll.exists": "{path} 已存在（本机已登记）。重新登记会让旧凭据失效；确定的话加上 --replace",
    "enroll.write_failed": "凭据无法写入 {path}：{reason}；已写入的内容均已撤销，请检查目录权限和磁盘空间",
    "enroll.bad_url": "总部地址 {url} 不对：应以 http:// 或 https:// 开头，例如 http://hq.local:8080",
    "enroll.set_id": "注意：配置中的 [kiosk] id 是 {configured}；请改为 {kiosk_id}，否则本机不会同步",
    "sync.not_enrolled": "本机无法与总部同步：{problem}",
    "enroll.bad_kiosk_id": "收银机编号 {kiosk_id} 不对：只能用 1-64 个字母、数字、点、下划线或连字符",
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
    "doctor.title": "Kiosk self-check ({kiosk_id})",
    "doctor.status.OK": "OK",
    "doctor.status.WARN": "WARN",
    "doctor.status.FAIL": "FAIL",
    "doctor.summary.all_ok": "all OK",
    "doctor.summary.warnings": "nothing failed, {warned} warning(s); see the WARN lines",
    "doctor.summary.failures": "{failed} check(s) failed, {warned} warning(s); follow the hints above",
    "doctor.check.settings": "settings",
    "doctor.check.template": "receipt template",
    "doctor.check.store": "store",
    "doctor.check.alerts": "staff alerts",
    "doctor.check.printer": "printer",
    "doctor.check.camera": "camera",
    "doctor.check.gateway": "payment gateway",
    "doctor.check.hq": "HQ",
    "doctor.settings.ok": "read {path}",
    "doctor.template.ok": "read {path}",
    "doctor.template.error": "the receipt template {path} cannot be used; fix the file (the log says why)",
    "doctor.store.ok": "{path}: schema {schema}, integrity ok; {paid} paid sale(s), {pending} waiting for HQ",
    "doctor.store.unresolved": "; {count} payment(s) unresolved, settled at the next start",
    "doctor.store.error": "cannot open the local store {path}; check the folder's permissions and free disk space (the log says why)",
    "doctor.store.backwards": "the local store {path} holds {held} paid sale(s) but this kiosk recorded {recorded}: it went backwards (damaged, emptied or replaced by an older copy) and the kiosk will not sell from it; restore the newest backup with its -wal file, or once HQ confirms it holds every sale of this kiosk, run kiosk store accept (operations guide, 'The store cannot be opened')",
    "doctor.store.damaged": "the local store {path} is damaged or unreadable and the kiosk will not sell from it; restore the last backup (operations guide, 'The store cannot be opened'; the log says why)",
    "doctor.alerts.none": "none in the last {hours} h",
    "doctor.alerts.some": "{count} in the last {hours} h, latest: {latest}",
    "doctor.alerts.error": "cannot read the staff alerts in {path}; fix the store first (the log says why)",
    "doctor.printer.none": "no printer set ([printer] transport = none); customers get no receipt",
    "doctor.printer.ready": "{where}: ready",
    "doctor.printer.not_ready": "{where}: not ready (offline, no paper, cover open or no answer); check cable, paper and power",
    "doctor.printer.error": "cannot open the printer {where}; check the cable, power and [printer] device (the log says why)",
    "doctor.camera.ok": "source {source}: {width}x{height} frames",
    "doctor.camera.no_frame": "source {source}: no frame within 2 s; check the cable or [camera] source",
    "doctor.camera.error": "cannot open the camera (source {source}); check the cable and [camera] source (the log says why)",
    "doctor.gateway.none": "no payment gateway: this kiosk refuses payment until commissioned; set [payments] gateway to wechat, alipay or wechat+alipay and the channel's credentials (docs/payments.md)",
    "doctor.gateway.channels_ok": "credentials loaded; reachable: {reached}",
    "doctor.gateway.channel_unreachable": "cannot reach the {channel} gateway at {url}; check the network",
    "doctor.gateway.error": "the payment gateway ({gateway}) cannot be used; check the [payments] settings and the key and certificate files (the log says why)",
    "doctor.hq.not_enrolled": "this kiosk is not enrolled at HQ ({path} does not exist): ask the HQ admin for an enrolment code (hq device enroll-code --store STORE), then run kiosk enroll CODE --hq {url}",
    "doctor.hq.credentials": "the HQ enrolment is not usable: {problem}",
    "doctor.hq.unreachable": "cannot reach HQ at {url}; check the network and [hq] url (the log says why)",
    "doctor.hq.refused": "HQ at {url} refused this kiosk ({kiosk_id}): it may be revoked or its enrolment replaced; ask HQ for a new enrolment code and run kiosk enroll CODE --hq {url} --replace, and check [hq] url (the log says why)",
    "doctor.hq.ok": "{url}: enrolment accepted, {count} product(s) in the catalog",
    "doctor.hq.empty_catalog": "{url}: enrolment accepted, but the catalog is empty, so this kiosk has nothing to sell; import products at HQ (hq catalog import FILE.csv), and the kiosk fetches them at its next sync",
    "doctor.hq.error": "cannot check HQ at {url}; check the network and the [hq] settings (the log says why)",
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
    # kiosk enroll / kiosk sync (HQ enrolment and sync)
    "help.receipt_qr": "Your receipt did not print: scan this code with your phone for the e-receipt",
    "enroll.done": "enrolled: kiosk {kiosk_id} in store {store} at HQ {url}; credentials written to {path} (readable by this user only)",
    "enroll.set_url": "note: [hq] url in the settings is {configured}; set it to {url}, or this kiosk will not sync with this HQ",
    "enroll.bad_code": "the enrolment code is wrong, already used or expired: ask the HQ admin for a new one (hq device enroll-code --store STORE) and use it within 15 minutes",
    "enroll.code_format": "that is not an enrolment code: 16 letters or digits in groups of four, e.g. K7QF-2M9X-PA3L-H8RD",
    "enroll.other_store": "HQ refused: {detail} (this kiosk id belongs to another store; revoke it there, or choose another id with --kiosk-id)",
    "enroll.refused": "HQ refused the enrolment ({status}): {detail}",
    "enroll.rate_limited": "HQ holds back enrolments from this address for now (too many failed attempts): try again in {seconds} s",
    "enroll.unreachable": "cannot reach HQ at {url}: {reason}. Check the network and the address (e.g. http://hq.local:8080)",
    "enroll.not_hq": "{url} did not answer as HQ's enrolment does ({status}): is that the right address?",
    "enroll.exists": "{path} exists (this kiosk is enrolled). Enrolling again makes the old credentials stop working; add --replace if you mean it",
    "enroll.write_failed": "cannot write the credentials to {path}: {reason}; nothing was left behind. Check the folder's permissions and free space",
    "enroll.bad_url": "HQ address {url} is not usable: it starts with http:// or https://, e.g. http://hq.local:8080",
    "enroll.set_id": "note: [kiosk] id in the settings is {configured}; set it to {kiosk_id}, or this kiosk will not sync",
    "sync.not_enrolled": "this kiosk cannot sync with HQ: {problem}",
    "enroll.bad_kiosk_id": "kiosk id {kiosk_id} is not usable: 1-64 letters, digits, '.', '_' or '-'",
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
