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
    "cart.empty": "购物车是空的\n点击商品即可加入",
    "cart.items": "共 {count}",
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
    "doctor.check.clock": "时钟",
    "doctor.settings.ok": "已读取 {path}",
    "doctor.settings.not_roots": "已读取 {path}，但除 root 外还有用户可以修改它或它所在的文件夹：本机防火墙放行的主机来自这些设置，必须只有 root 能改。请以 root 执行：chown root:kiosk {path} && chmod 0640 {path}",
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
    "doctor.clock.synced": "已由网络校时：{now}",
    "doctor.clock.not_required": "{now}；设置不要求网络校时（[kiosk] require_time_sync = {setting}）",
    "doctor.clock.not_synced": "尚未网络校时（没有 {path}）：校时前本机暂停收款（网关要核对时间）。请检查网络能否访问NTP（UDP 123）：timedatectl timesync-status",
    "doctor.clock.before_release": "时钟显示 {now}，早于本版本发布日期 {floor}，时间不对：本机暂停收款。请检查网络校时（timedatectl timesync-status）",
    "doctor.clock.error": "无法读取校时状态（{path}）：本机按未校时处理（原因见日志）",
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
    "recovering.wait": "正在核对您的上一笔付款",
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
    "cart.items": "{count}",
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
    "doctor.check.clock": "clock",
    "doctor.settings.ok": "read {path}",
    "doctor.settings.not_roots": "read {path}, but users other than root may change it or its folder: the kiosk's firewall lets through the hosts these settings name, so only root may change them. As root: chown root:kiosk {path} && chmod 0640 {path}",
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
    "doctor.clock.synced": "set by network time: {now}",
    "doctor.clock.not_required": "{now}; the settings do not ask for network time ([kiosk] require_time_sync = {setting})",
    "doctor.clock.not_synced": "network time has not set the clock ({path} is missing): no payment until it has (the gateways check the time). Check that the network reaches NTP, UDP 123: timedatectl timesync-status",
    "doctor.clock.before_release": "the clock says {now}, before this release was made ({floor}), so it is wrong: no payment until network time sets it (timedatectl timesync-status)",
    "doctor.clock.error": "cannot read the time-sync state ({path}): the kiosk counts the clock as not synced (the log says why)",
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
    "recovering.wait": "We are checking your last payment",
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


# --- maintenance mode: the staff screens (PIN pad, menu, actions) -------------------------------

_ZH_MAINT_UI: Final[dict[str, str]] = {
    "maint.pin_title": "员工登录",
    "maint.pin_prompt": "请输入员工 PIN",
    "maint.pin_for_help": "请输入员工 PIN 以恢复服务",
    "maint.clear": "清除",
    "maint.ok": "确定",
    "maint.cancel": "取消",
    "maint.wrong_pin": "PIN 不正确，请重试",
    "maint.wait": "尝试次数过多，请 {seconds} 秒后再试",
    "maint.locked_out": "错误次数过多，已锁定。请联系 IT 解锁",
    "maint.refused_payment": "正在付款中，付款完成后再进入维护模式",
    "maint.unavailable": "本机未启用维护模式",
    "maint.title": "维护模式",
    "maint.signed_in": "员工：{name} · {role}",
    "maint.lock": "锁定",
    "maint.choose": "请选择左侧的操作",
    "maint.confirm": "确认",
    "maint.confirm_again": "再按一次确认",
    "maint.run": "执行",
    "maint.reprint": "补打小票",
    "maint.pick_order": "请先选择订单",
    "maint.order_picked": "已选订单 {order}",
    "maint.no_orders": "今天还没有订单",
    "maint.no_tasks": "没有待办事项",
    "maint.amount": "退款金额（元，不填为全额）",
    "maint.amount_all": "全额",
    "maint.amount_invalid": "金额无效",
    "maint.refund_confirm": "退款 {amount}，订单 {order}？再按一次确认",
    "maint.failed": "操作失败：{reason}",
    "maint.working": "处理中，请稍候…",
    "maint.checking_pin": "正在核对 PIN…",
    "maint.pin_too_short": "PIN 至少 {digits} 位",
    "maint.role.cashier": "收银员",
    "maint.role.manager": "店长",
    "maint.role.it": "IT 运维",
    "maint.action.reprint": "补打小票",
    "maint.action.paper_guide": "换纸指南",
    "maint.action.todays_sales": "今日销售",
    "maint.action.resolve_help": "处理求助",
    "maint.action.void_order": "作废订单",
    "maint.action.refund": "退款",
    "maint.action.resolve_payment": "核对付款",
    "maint.action.close_shift": "交班（Z 报表）",
    "maint.action.override_price": "改价",
    "maint.action.out_of_stock": "标记缺货",
    "maint.action.configure": "设置",
    "maint.action.network": "网络",
    "maint.action.logs": "日志",
    "maint.action.backup": "备份",
    "maint.action.restore": "恢复",
    "maint.action.ota_check": "检查更新",
    "maint.action.diagnostics": "诊断",
    "maint.action.support_bundle": "支持包",
    "maint.action.exit_to_desktop": "退出到桌面",
    "maint.action.tasks": "待办事项",
}

_EN_MAINT_UI: Final[dict[str, str]] = {
    "maint.pin_title": "Staff sign-in",
    "maint.pin_prompt": "Enter your staff PIN",
    "maint.pin_for_help": "Enter your staff PIN to resume service",
    "maint.clear": "Clear",
    "maint.ok": "OK",
    "maint.cancel": "Cancel",
    "maint.wrong_pin": "Wrong PIN, try again",
    "maint.wait": "Too many tries: try again in {seconds} s",
    "maint.locked_out": "Too many wrong PINs: locked. Ask IT to unlock the kiosk",
    "maint.refused_payment": "A payment is in progress: open maintenance mode when it has finished",
    "maint.unavailable": "Maintenance mode is not available on this kiosk",
    "maint.title": "Maintenance",
    "maint.signed_in": "Staff: {name} · {role}",
    "maint.lock": "Lock",
    "maint.choose": "Choose an action on the left",
    "maint.confirm": "Confirm",
    "maint.confirm_again": "Press again to confirm",
    "maint.run": "Run",
    "maint.reprint": "Reprint receipt",
    "maint.pick_order": "Pick an order first",
    "maint.order_picked": "Order {order} picked",
    "maint.no_orders": "No orders today yet",
    "maint.no_tasks": "Nothing to do",
    "maint.amount": "Refund amount (yuan; empty for the whole order)",
    "maint.amount_all": "Whole order",
    "maint.amount_invalid": "Not a valid amount",
    "maint.refund_confirm": "Refund {amount} of order {order}? Press again to confirm",
    "maint.failed": "Failed: {reason}",
    "maint.working": "Working, please wait…",
    "maint.checking_pin": "Checking the PIN…",
    "maint.pin_too_short": "A PIN has at least {digits} digits",
    "maint.role.cashier": "Cashier",
    "maint.role.manager": "Manager",
    "maint.role.it": "IT",
    "maint.action.reprint": "Reprint receipt",
    "maint.action.paper_guide": "Paper refill guide",
    "maint.action.todays_sales": "Today's sales",
    "maint.action.resolve_help": "Resolve help call",
    "maint.action.void_order": "Void order",
    "maint.action.refund": "Refund",
    "maint.action.resolve_payment": "Check a payment",
    "maint.action.close_shift": "Close shift (Z-report)",
    "maint.action.override_price": "Override price",
    "maint.action.out_of_stock": "Mark out of stock",
    "maint.action.configure": "Settings",
    "maint.action.network": "Network",
    "maint.action.logs": "Logs",
    "maint.action.backup": "Backup",
    "maint.action.restore": "Restore",
    "maint.action.ota_check": "Check for updates",
    "maint.action.diagnostics": "Diagnostics",
    "maint.action.support_bundle": "Support bundle",
    "maint.action.exit_to_desktop": "Exit to desktop",
    "maint.action.tasks": "Tasks",
}

_ZH.update(_ZH_MAINT_UI)
_EN.update(_EN_MAINT_UI)


# --- maintenance mode on the real kiosk (kiosk.staff_console) ------------------------------------------

_ZH.update(
    {
        "maint.console.locked": "维护模式已锁定：请重新输入 PIN",
        "maint.console.not_offered": "本机暂不提供此项",
        "maint.console.not_allowed": "您的角色不能执行此操作",
        "maint.console.failed": "未完成：{reason}",
        "maint.console.done": "已完成",
        "maint.console.sales": "今日 {n} 单，合计 {total}",
        "maint.console.task_gone": "此任务已处理",
        "maint.console.no_open_payment": "该订单没有结果未知的支付",
        "maint.console.diag_failed": "{n} 项检查未通过，详见下方",
    }
)
_EN.update(
    {
        "maint.console.locked": "maintenance mode is locked: enter your PIN again",
        "maint.console.not_offered": "this kiosk does not offer that yet",
        "maint.console.not_allowed": "your role may not do that",
        "maint.console.failed": "not done: {reason}",
        "maint.console.done": "done",
        "maint.console.sales": "{n} orders today, {total} in all",
        "maint.console.task_gone": "this task has been dealt with",
        "maint.console.no_open_payment": "this order has no payment whose outcome is unknown",
        "maint.console.diag_failed": "{n} check(s) failed; see below",
    }
)


# --- maintenance: diagnostics, support bundle, backup and restore (kiosk.maintenance) -------------------

_ZH.update(
    {
        "backup.no_store": "找不到数据库文件 {path}：请检查路径",
        "backup.no_folder": "找不到文件夹 {path}：请插入U盘并确认已挂载，再重试",
        "backup.write_failed": "无法写入 {path}（{reason}）：请检查U盘空间和写保护",
        "backup.no_manifest": "缺少校验清单 {path}：备份文件须与其 .manifest.json 放在一起",
        "backup.bad_manifest": "校验清单 {path} 无法读取（{reason}）：请换用另一份备份",
        "backup.checksum": "备份 {path} 的 SHA-256 校验不符：文件已损坏或被改动，请换用另一份备份",
        "backup.counts": "备份 {path} 试恢复后的笔数与清单不符：请换用另一份备份",
        "backup.probe_failed": "备份 {path} 试恢复失败（{reason}）：请换用另一份备份",
        "backup.would_lose": "拒绝恢复：备份 {path} 缺少 {sales} 笔销售和 {refunds} 笔退款，而这些尚未上传到总部，恢复会丢失它们。请先联网同步（kiosk sync --once），或使用更新的备份",
        "backup.hq_refused": "总部未接收上传（{reason}）",
        "backup.live_unreadable": "拒绝恢复：当前数据库 {path} 无法读取（{reason}），无法确认哪些销售尚未上传总部。请先把它连同 -wal 文件移到别处保存（交给总部支持），再恢复",
        "backup.audit_failed": "已恢复 {path}，但审计记录未能写入（{reason}）：请记下本次恢复并告知总部",
        "backup.hq_checksum": "总部收到的文件校验不符：请重试上传",
        "diag.ok": "正常",
        "diag.warn": "注意",
        "diag.fail": "失败",
        "diag.printer.ready": "打印机就绪（{where}）",
        "diag.printer.not_ready": "打印机未就绪（{where}）：{detail}",
        "diag.printer.none": "未配置打印机",
        "diag.printer.page_ok": "测试页已打印",
        "diag.printer.page_failed": "测试页未打印：{reason}",
        "diag.camera.stats": "已读 {read} 帧，已解码 {decoded} 帧，丢弃 {dropped} 帧，识别 {codes} 个码；解码中位 {median:.1f} ms，P95 {p95:.1f} ms，{fps:.1f} 帧/秒",
        "diag.camera.fault": "摄像头故障：{fault}",
        "diag.camera.idle": "摄像头未在运行",
        "diag.gpio.ok": "指示灯已闪烁，蜂鸣器已鸣响；输入：{inputs}",
        "diag.gpio.missing": "未接：{missing}；输入：{inputs}",
        "diag.gpio.off": "GPIO 已关闭（[gpio] enabled = false）",
        "diag.network.ok": "本机地址 {addresses}",
        "diag.network.none": "没有可用的网络地址：请检查网线或 Wi-Fi",
        "diag.hq.ok": "总部 {url} 可达，本机身份 {kiosk_id}（门店 {store}）",
        "diag.hq.unreachable": "无法连接总部 {url}：{reason}",
        "diag.hq.not_enrolled": "本机尚未登记到总部：{reason}",
        "diag.gateway.ok": "支付网关可达：{reached}",
        "diag.gateway.failed": "支付网关检查失败：{reason}",
        "diag.charge.ok": "测试收款 1 分成功（{out_trade_no}），已退款（{out_refund_no}）",
        "diag.charge.not_paid": "测试收款未成功：{reason}",
        "diag.charge.not_refunded": "测试收款 1 分已收（{out_trade_no}），但退款未完成：{reason}。请在维护菜单中重试退款",
        "diag.charge.no_gateway": "未配置支付网关（payments.gateway = none）",
        "diag.disk.ok": "数据目录 {path}：剩余 {free_mb} MB（共 {total_mb} MB）",
        "diag.disk.low": "数据目录 {path} 空间不足：剩余 {free_mb} MB（共 {total_mb} MB），请清理",
        "diag.sd.ok": "存储卡 {device}：{detail}",
        "diag.sd.worn": "存储卡 {device} 磨损较高：{detail}，请准备更换",
        "diag.sd.unknown": "存储卡健康状况未知（此设备不提供）",
        "diag.versions": "程序 {app}，系统 {os}",
        "bundle.written": "支持包已写入 {path}",
        "bundle.uploaded": "支持包已上传到总部（{name}）",
    }
)
_EN.update(
    {
        "backup.no_store": "there is no store file at {path}; check the path",
        "backup.no_folder": "there is no folder {path}; insert the USB stick, check it is mounted, and try again",
        "backup.write_failed": "cannot write to {path} ({reason}); check the stick's free space and write protection",
        "backup.no_manifest": "the checksum manifest {path} is missing; keep each backup beside its .manifest.json",
        "backup.bad_manifest": "the checksum manifest {path} cannot be read ({reason}); use another backup",
        "backup.checksum": "the backup {path} does not match its SHA-256: it is damaged or changed; use another backup",
        "backup.counts": "a test restore of {path} does not hold what its manifest says; use another backup",
        "backup.probe_failed": "a test restore of {path} failed ({reason}); use another backup",
        "backup.would_lose": "restore refused: the backup {path} lacks {sales} sale(s) and {refunds} refund(s) that HQ has not received yet, and restoring would lose them. Sync first (kiosk sync --once), or use a newer backup",
        "backup.hq_refused": "HQ did not take the upload ({reason})",
        "backup.live_unreadable": "restore refused: the current store {path} cannot be read ({reason}), so which sales HQ lacks cannot be checked. Move it and its -wal file aside first (keep them for HQ support), then restore",
        "backup.audit_failed": "{path} is restored, but its audit entry could not be written ({reason}); note the restore and tell HQ",
        "backup.hq_checksum": "HQ received a file with another checksum; upload again",
        "diag.ok": "OK",
        "diag.warn": "WARN",
        "diag.fail": "FAIL",
        "diag.printer.ready": "printer ready ({where})",
        "diag.printer.not_ready": "printer not ready ({where}): {detail}",
        "diag.printer.none": "no printer configured",
        "diag.printer.page_ok": "test page printed",
        "diag.printer.page_failed": "test page not printed: {reason}",
        "diag.camera.stats": "{read} frames read, {decoded} decoded, {dropped} dropped, {codes} code(s) read; decode median {median:.1f} ms, p95 {p95:.1f} ms, {fps:.1f} fps",
        "diag.camera.fault": "camera fault: {fault}",
        "diag.camera.idle": "the camera is not running",
        "diag.gpio.ok": "LED blinked, buzzer beeped; inputs: {inputs}",
        "diag.gpio.missing": "not fitted: {missing}; inputs: {inputs}",
        "diag.gpio.off": "GPIO is off ([gpio] enabled = false)",
        "diag.network.ok": "addresses {addresses}",
        "diag.network.none": "no network address; check the cable or Wi-Fi",
        "diag.hq.ok": "HQ {url} reachable, this kiosk is {kiosk_id} (store {store})",
        "diag.hq.unreachable": "cannot reach HQ {url}: {reason}",
        "diag.hq.not_enrolled": "this kiosk is not enrolled at HQ: {reason}",
        "diag.gateway.ok": "payment gateway reachable: {reached}",
        "diag.gateway.failed": "payment gateway check failed: {reason}",
        "diag.charge.ok": "test charge of 1 fen paid ({out_trade_no}) and refunded ({out_refund_no})",
        "diag.charge.not_paid": "the test charge was not paid: {reason}",
        "diag.charge.not_refunded": "the test charge of 1 fen was paid ({out_trade_no}) but not refunded: {reason}. Repeat the refund from the maintenance menu",
        "diag.charge.no_gateway": "no payment gateway configured (payments.gateway = none)",
        "diag.disk.ok": "data folder {path}: {free_mb} MB free of {total_mb} MB",
        "diag.disk.low": "data folder {path} is nearly full: {free_mb} MB free of {total_mb} MB; free space",
        "diag.sd.ok": "SD card {device}: {detail}",
        "diag.sd.worn": "SD card {device} is worn: {detail}; plan to replace it",
        "diag.sd.unknown": "SD card health unknown (this device does not report it)",
        "diag.versions": "app {app}, OS {os}",
        "bundle.written": "support bundle written to {path}",
        "bundle.uploaded": "support bundle uploaded to HQ ({name})",
    }
)


# --- sync with HQ: a kiosk HQ no longer accepts (kiosk.commands.sync) -----------------------------------

_ZH.update(
    {
        "sync.revoked": "总部已吊销本机（{kiosk_id}），不再接收它的同步：请向总部管理员要新的登记码，运行 kiosk enroll 登记码 --hq {url} --replace 重新登记。本机已有的销售仍保存在本地，重新登记后会上传",
        "sync.enrolment_gone": "总部不再认可本机（{kiosk_id}）的登记（原因：{reason}）：请向总部管理员要新的登记码，运行 kiosk enroll 登记码 --hq {url} --replace 重新登记。本机已有的销售仍保存在本地，重新登记后会上传",
    }
)
_EN.update(
    {
        "sync.revoked": "HQ has revoked this kiosk ({kiosk_id}) and takes no sync from it: ask the HQ admin for a new enrolment code and re-enroll with kiosk enroll CODE --hq {url} --replace. The sales on this kiosk stay in its store and go up once it is enrolled again",
        "sync.enrolment_gone": "HQ no longer accepts this kiosk's ({kiosk_id}) enrolment (reason: {reason}): ask the HQ admin for a new enrolment code and re-enroll with kiosk enroll CODE --hq {url} --replace. The sales on this kiosk stay in its store and go up once it is enrolled again",
    }
)

# --- IT maintenance actions (kiosk.staff_it, kiosk.ui.panels.it) ---------------------------------
_ZH.update(
    {
        "it.settings.read_only": "只读：设置由总部下发或在配置文件中修改（/etc/kiosk/kiosk.toml），密钥已隐藏",
        "it.net.interfaces": "网络接口：",
        "it.net.route": "默认路由：经 {gateway}（{interface}）",
        "it.net.no_route": "没有默认路由：请检查网线或 Wi-Fi",
        "it.net.dns": "DNS 服务器：{servers}",
        "it.logs.shown": "最近 {n} 行日志（密钥已隐藏）",
        "it.ota.version": "已安装版本：kiosk {version}（Python {python}，{machine}）",
        "it.dest.usb": "U盘 {path}",
        "it.dest.hq": "总部 {url}",
        "it.dest.pick": "请选择保存位置",
        "it.usb.insert": "未找到U盘：请插入U盘（或选择总部）",
        "it.usb.gone": "U盘 {path} 已不在：请重新插入并再选一次",
        "it.file": "文件：{name}\n大小：{size}\nSHA-256：{sha256}",
        "it.bundle.done": "支持包已完成",
        "it.backup.done": "备份已完成并已校验",
        "it.backup.verified": "已校验：校验和一致，试恢复成功（{sales} 笔销售）",
        "it.restore.sales": "{sales} 笔销售",
        "it.restore.failed_before": "上次恢复未成功，当前数据保持不变：{reason}。",
        "it.restore.not_listed": "{path} 不是列出的备份（U盘或总部）：请从列表中选择",
        "it.restore.staged": "已准备恢复 {name}：本机即将停止，下次启动时恢复（当前数据会另存，不会删除）",
        "it.restore.confirm": "恢复 {name}？本机将停止并在重启时恢复。再按一次确认",
        "it.restore.pick": "请先选择一个备份",
        "it.exit.confirm": "退出到桌面？本机将停止售卖且不会自动重启。再按一次确认",
        "it.exit.stopping": "正在退出到桌面",
        "it.not_enrolled": "本机未在总部注册：{reason}",
        "it.more": "更多",
        "it.refresh": "刷新",
        "it.restore.button": "恢复所选备份",
        "it.exit.button": "退出到桌面",
    }
)
_EN.update(
    {
        "it.settings.read_only": "Read-only: settings come from HQ or the config file (/etc/kiosk/kiosk.toml); secrets are hidden",
        "it.net.interfaces": "Interfaces:",
        "it.net.route": "Default route: via {gateway} ({interface})",
        "it.net.no_route": "No default route: check the cable or Wi-Fi",
        "it.net.dns": "DNS servers: {servers}",
        "it.logs.shown": "the last {n} log lines (secrets removed)",
        "it.ota.version": "Installed: kiosk {version} (Python {python}, {machine})",
        "it.dest.usb": "USB stick {path}",
        "it.dest.hq": "HQ {url}",
        "it.dest.pick": "choose where to save it",
        "it.usb.insert": "no USB stick found: insert a USB stick (or choose HQ)",
        "it.usb.gone": "the USB stick {path} is gone: insert it again and choose again",
        "it.file": "File: {name}\nSize: {size}\nSHA-256: {sha256}",
        "it.bundle.done": "support bundle done",
        "it.backup.done": "backup done and verified",
        "it.backup.verified": "Verified: checksum matches, test restore passed ({sales} sales)",
        "it.restore.sales": "{sales} sales",
        "it.restore.failed_before": "The last restore did not happen, the current store was kept: {reason}.",
        "it.restore.not_listed": "{path} is not a backup listed (USB stick or HQ): pick one from the list",
        "it.restore.staged": "restore of {name} staged: the kiosk stops now and restores it at its next start (the current store is kept, never deleted)",
        "it.restore.confirm": "Restore {name}? The kiosk stops and restores it when it starts again. Press again to confirm",
        "it.restore.pick": "pick a backup first",
        "it.exit.confirm": "Exit to the desktop? The kiosk stops selling and does not restart by itself. Press again to confirm",
        "it.exit.stopping": "exiting to the desktop",
        "it.not_enrolled": "this kiosk is not enrolled at HQ: {reason}",
        "it.more": "More",
        "it.refresh": "Refresh",
        "it.restore.button": "Restore the chosen backup",
        "it.exit.button": "Exit to desktop",
    }
)


# --- maintenance: the diagnostics panel (kiosk.staff_diagnostics, kiosk.ui.panels.diagnostics) -------

_ZH.update(
    {
        "diag.gpio.inputs": "输入：{inputs}",
        "diag.gpio.led_on": "指示灯正在闪烁：再按一次恢复",
        "diag.gpio.led_off": "指示灯已恢复",
        "diag.gpio.beeped": "蜂鸣器已鸣响一声",
        "diag.view.seen": "本视图识别 {n} 个码（不作收款）：{last}",
        "diag.view.closed": "摄像头视图已关闭",
        "diag.charge.show_code": "请向摄像头出示手机上的付款码（收 1 分并立即退回）",
        "diag.charge.cancelled": "测试收款已取消",
        "diag.check_error": "{name} 检查出错：{error}",
        "diag.panel.run_all": "全部重新检查",
        "diag.panel.test_page": "打印测试页",
        "diag.panel.led": "指示灯",
        "diag.panel.buzzer": "蜂鸣器",
        "diag.panel.camera": "摄像头视图",
        "diag.panel.close_camera": "关闭视图",
        "diag.panel.charge": "测试收款 1 分",
        "diag.panel.cancel": "取消",
        "diag.panel.not_run": "尚未检查",
        "diag.row.printer": "打印机",
        "diag.row.camera": "摄像头",
        "diag.row.gpio": "GPIO 接口",
        "diag.row.network": "网络",
        "diag.row.hq": "总部",
        "diag.row.gateway": "支付网关",
        "diag.row.charge": "测试收款",
        "diag.row.disk": "磁盘",
        "diag.row.sd_card": "存储卡",
        "diag.row.versions": "版本",
    }
)

_EN.update(
    {
        "diag.gpio.inputs": "inputs: {inputs}",
        "diag.gpio.led_on": "the LED is blinking: press again to put it back",
        "diag.gpio.led_off": "the LED is back as it was",
        "diag.gpio.beeped": "the buzzer beeped once",
        "diag.view.seen": "{n} code(s) seen in this view (not taken as payments): {last}",
        "diag.view.closed": "camera view closed",
        "diag.charge.show_code": "show a payment code from your phone to the camera (1 fen, refunded at once)",
        "diag.charge.cancelled": "test charge cancelled",
        "diag.check_error": "{name} check failed: {error}",
        "diag.panel.run_all": "Run all again",
        "diag.panel.test_page": "Test page",
        "diag.panel.led": "LED",
        "diag.panel.buzzer": "Buzzer",
        "diag.panel.camera": "Camera view",
        "diag.panel.close_camera": "Close view",
        "diag.panel.charge": "Test charge 1 fen",
        "diag.panel.cancel": "Cancel",
        "diag.panel.not_run": "not checked yet",
        "diag.row.printer": "Printer",
        "diag.row.camera": "Camera",
        "diag.row.gpio": "GPIO",
        "diag.row.network": "Network",
        "diag.row.hq": "HQ",
        "diag.row.gateway": "Gateway",
        "diag.row.charge": "Test charge",
        "diag.row.disk": "Disk",
        "diag.row.sd_card": "SD card",
        "diag.row.versions": "Versions",
    }
)


# --- a manager's price override and out-of-stock (kiosk.ui.panels.catalog, kiosk.staff_catalog) -------

_ZH.update(
    {
        "notice.sold_out": "该商品已售罄，请选择其他商品",
        "cart.sold_out": "已售罄",
        "maint.cat.search": "搜索",
        "maint.cat.back": "退格",
        "maint.cat.search_hint": "输入条码、编号或英文名的一部分",
        "maint.cat.all": "全部分类",
        "maint.cat.none": "没有找到商品",
        "maint.cat.pick": "请先选择商品",
        "maint.cat.row_override": "（原价 {price}）",
        "maint.cat.row_out": "  [缺货]",
        "maint.cat.state": "{name}（{sku}）\n总部价格 {catalog}\n现售价格 {price}{override}\n库存：{stock}",
        "maint.cat.state_override": "（本机改价）",
        "maint.cat.in_stock": "有货",
        "maint.cat.out_of_stock": "缺货",
        "maint.cat.new_price": "新价格（元）",
        "maint.cat.set_price": "改价",
        "maint.cat.clear_price": "恢复总部价格",
        "maint.cat.mark_out": "标记缺货",
        "maint.cat.mark_in": "恢复有货",
        "maint.cat.confirm_price": "将 {name} 改为 {price}？再按一次确认",
        "maint.cat.confirm_clear": "将 {name} 恢复为总部价格？再按一次确认",
        "maint.cat.confirm_out": "将 {name} 标记为缺货？再按一次确认",
        "maint.cat.confirm_in": "将 {name} 恢复有货？再按一次确认",
        "maint.cat.price_invalid": "请输入大于 0 的价格，例如 3.50",
        "maint.cat.listed": "{n} 件商品",
        "maint.cat.price_set": "{name} 现售 {price}",
        "maint.cat.price_cleared": "{name} 恢复总部价格 {price}",
        "maint.cat.marked_out": "{name} 已标记缺货",
        "maint.cat.marked_in": "{name} 已恢复有货",
        "maint.cat.no_product": "本机目录中没有商品 {sku}",
    }
)
_EN.update(
    {
        "notice.sold_out": "Sorry, this item is sold out; please choose another",
        "cart.sold_out": "Sold out",
        "maint.cat.search": "Search",
        "maint.cat.back": "Del",
        "maint.cat.search_hint": "type part of a barcode, item code or English name",
        "maint.cat.all": "All categories",
        "maint.cat.none": "no products found",
        "maint.cat.pick": "pick a product first",
        "maint.cat.row_override": " (was {price})",
        "maint.cat.row_out": "  [out of stock]",
        "maint.cat.state": "{name} ({sku})\nHQ price {catalog}\nselling at {price}{override}\nstock: {stock}",
        "maint.cat.state_override": " (overridden here)",
        "maint.cat.in_stock": "in stock",
        "maint.cat.out_of_stock": "out of stock",
        "maint.cat.new_price": "New price (yuan)",
        "maint.cat.set_price": "Set price",
        "maint.cat.clear_price": "Back to HQ's price",
        "maint.cat.mark_out": "Mark out of stock",
        "maint.cat.mark_in": "Back in stock",
        "maint.cat.confirm_price": "Sell {name} at {price}? Press again to confirm",
        "maint.cat.confirm_clear": "Sell {name} at HQ's price again? Press again to confirm",
        "maint.cat.confirm_out": "Mark {name} out of stock? Press again to confirm",
        "maint.cat.confirm_in": "Put {name} back in stock? Press again to confirm",
        "maint.cat.price_invalid": "type a price above 0, such as 3.50",
        "maint.cat.listed": "{n} product(s)",
        "maint.cat.price_set": "{name} now sells at {price}",
        "maint.cat.price_cleared": "{name} is back at HQ's price {price}",
        "maint.cat.marked_out": "{name} is marked out of stock",
        "maint.cat.marked_in": "{name} is back in stock",
        "maint.cat.no_product": "there is no product {sku} in this kiosk's catalog",
    }
)

# --- the day's work: tasks kept across restarts (issue 10 §4) ------------------------------------------
_ZH.update(
    {
        "maint.task.recovered": "启动时已结算：{detail}（已知悉请点此移除）",
    }
)
_EN.update(
    {
        "maint.task.recovered": "Settled at start-up: {detail} (tap when seen to remove it)",
    }
)

# --- updates (kiosk.ota_link): the attract screen while the update agent holds the kiosk ---
_ZH.update({"ota.updating": "正在更新，马上回来"})
_EN.update({"ota.updating": "Updating, back in a moment"})

# --- IT: restore from HQ (kiosk.staff_it, kiosk.maintenance.upload, kiosk.ui.panels.it) -----------
_ZH.update(
    {
        "backup.hq_fetch_failed": "无法从总部取得备份（{reason}）：请检查网络后重试，或改用U盘上的备份",
        "backup.hq_mismatch": "从总部下载的备份 {name} 与总部列出的大小或 SHA-256 不符：未做任何恢复准备，请重试或换用另一份备份",
        "it.restore.hq": "总部备份",
        "it.restore.granted": "（来自 {kiosk}）",
        "it.restore.hq_unlisted": "无法列出总部的备份：{reason}。",
        "it.restore.none": "没有可恢复的备份：请插入存有备份的U盘，或先备份到总部。",
        "it.restore.downloading": "正在从总部下载并校验备份……",
    }
)
_EN.update(
    {
        "backup.hq_fetch_failed": "could not get the backup from HQ ({reason}): check the network and try again, or use a backup on a USB stick",
        "backup.hq_mismatch": "the backup {name} downloaded from HQ does not match the size or SHA-256 HQ listed: nothing was staged; try again or pick another backup",
        "it.restore.hq": "HQ backup",
        "it.restore.granted": " (from {kiosk})",
        "it.restore.hq_unlisted": "HQ's backups could not be listed: {reason}.",
        "it.restore.none": "No backup to restore: insert a USB stick with one, or back up to HQ first.",
        "it.restore.downloading": "Downloading the backup from HQ and verifying it...",
    }
)

# --- updates: IT's update screen (kiosk.staff_it.software) reads the agent's state.json ---
_ZH.update(
    {
        "it.ota.no_agent": "此自助机没有更新代理的记录（{path} 不存在）：更新随系统镜像安装",
        "it.ota.unreadable": "无法读取更新代理的状态 {path}：{reason}",
        "it.ota.agent": "更新代理：{state}，运行版本 {running}，记录于 {at}",
        "it.ota.target": "正在更新到：{version}",
        "it.ota.detail": "最近消息：{detail}",
        "it.ota.failed": "在本机失败过、不再尝试的版本：{versions}",
        "it.ota.unsent": "{n} 条报告等待发送到总部",
        "it.ota.window": "更新只在 {window}（本地时间）且无顾客时重启自助机",
        "it.ota.any_time": "更新在无顾客时随时重启自助机（未设维护时段）",
        "it.ota.shown": "更新状态",
        "it.ota.check_now": "立即检查",
        "it.ota.check_asked": "已请更新代理立即向总部检查；稍后点“刷新”查看结果",
        "it.ota.check_failed": "无法请求立即检查：{reason}",
        "it.ota.state.idle": "空闲",
        "it.ota.state.downloading": "下载中",
        "it.ota.state.downloaded": "已下载",
        "it.ota.state.installed": "已安装",
        "it.ota.state.waiting_idle": "等待无顾客时切换",
        "it.ota.state.switched": "已切换，等待健康报告",
        "it.ota.state.healthy": "正常",
        "it.ota.state.failed": "失败",
        "it.ota.state.rolled_back": "已回滚",
    }
)
_EN.update(
    {
        "it.ota.no_agent": "No update agent record on this kiosk ({path} is missing): updates come with the image",
        "it.ota.unreadable": "The update agent's state {path} cannot be read: {reason}",
        "it.ota.agent": "Update agent: {state}, running {running}, as of {at}",
        "it.ota.target": "Updating to: {version}",
        "it.ota.detail": "Last message: {detail}",
        "it.ota.failed": "Failed here, not tried again: {versions}",
        "it.ota.unsent": "{n} report(s) waiting to reach HQ",
        "it.ota.window": "Updates restart the kiosk only between {window} (local time), with no customer",
        "it.ota.any_time": "Updates restart the kiosk whenever no customer is using it (no maintenance window)",
        "it.ota.shown": "Update status",
        "it.ota.check_now": "Check now",
        "it.ota.check_asked": "Asked the update agent to check with HQ now; press Refresh in a moment for the answer",
        "it.ota.check_failed": "Could not ask for a check now: {reason}",
        "it.ota.state.idle": "idle",
        "it.ota.state.downloading": "downloading",
        "it.ota.state.downloaded": "downloaded",
        "it.ota.state.installed": "installed",
        "it.ota.state.waiting_idle": "waiting for no customer to switch",
        "it.ota.state.switched": "switched, waiting for the health report",
        "it.ota.state.healthy": "healthy",
        "it.ota.state.failed": "failed",
        "it.ota.state.rolled_back": "rolled back",
    }
)

# --- issue 12: the cart and attract screens (confirm before emptying, an empty catalog), the done
# screen's e-receipt QR when nothing printed, the pay screen's gateway stages and "still there?" ---
_ZH.update(
    {
        "cart.confirm_title": "清空购物车？",
        "cart.confirm_detail": "购物车里的 {count}商品将被移除",
        "cart.confirm_keep": "继续购物",
        "cart.confirm_empty": "清空",
        "attract.no_products": "暂无可售商品",
        "attract.no_products_hint": "本机暂未开始营业，请联系工作人员",
        "attract.staff_catalog_empty": "工作人员：商品目录为空，请从总部同步商品目录",
        "attract.staff_catalog_error": "工作人员：无法读取商品目录（{reason}），请查看日志",
        "done.e_receipt": "小票未能打印：用手机扫码查看电子小票",
        "pay.enter_password": "请在手机上输入支付密码",
        "pay.enter_password_how": "付款需要您在手机上确认，\n输入密码后请在此稍候",
        "pay.checking": "正在确认您的付款",
        "pay.checking_how": "请勿重复付款，请稍候…",
        "still.title": "还在吗？",
        "still.cart": "{seconds} 秒后将清空购物车",
        "still.pay": "{seconds} 秒后将取消本次付款并清空购物车",
        "still.continue": "继续",
    }
)
_EN.update(
    {
        "cart.confirm_title": "Empty the cart?",
        "cart.confirm_detail": "The {count} in your cart will be removed",
        "cart.confirm_keep": "Keep shopping",
        "cart.confirm_empty": "Empty cart",
        "attract.no_products": "No products yet",
        "attract.no_products_hint": "This kiosk is not selling yet; please ask staff",
        "attract.staff_catalog_empty": "Staff: the catalog is empty; sync the catalog from HQ",
        "attract.staff_catalog_error": "Staff: the catalog cannot be read ({reason}); see the log",
        "done.e_receipt": "No paper receipt: scan for your e-receipt",
        "pay.enter_password": "Enter your password on your phone",
        "pay.enter_password_how": "Type your payment password on your phone, then wait here",
        "pay.checking": "Checking your payment",
        "pay.checking_how": "Do not pay again — please wait…",
        "still.title": "Still there?",
        "still.cart": "Your cart will be cleared in {seconds} s",
        "still.pay": "This payment will be cancelled and your cart cleared in {seconds} s",
        "still.continue": "Continue",
    }
)

# --- promotions and members (the cart's discount lines, the member sign-in screen) ---------------
_ZH.update(
    {
        "promo.saved": "已优惠 {amount}",
        "promo.subtotal": "小计",
        "member.button": "会员",
        "member.signed_in": "会员：{name}",
        "member.title": "会员登录",
        "member.scan_qr": "请将会员码对准摄像头",
        "member.or_phone": "或输入手机号",
        "member.phone_hint": "请输入 11 位手机号",
        "member.sign_in": "登录",
        "member.clear": "清除",
        "member.backspace": "删除",
        "member.back": "返回",
        "member.checking": "正在查询会员…",
        "notice.member_not_found": "未找到该会员，请检查手机号",
        "notice.members_not_offered": "本机暂不提供会员服务",
        "notice.member_lookup_failed": "暂时无法查询会员，请稍后再试",
    }
)
_EN.update(
    {
        "promo.saved": "You save {amount}",
        "promo.subtotal": "Subtotal",
        "member.button": "Member",
        "member.signed_in": "Member: {name}",
        "member.title": "Member sign-in",
        "member.scan_qr": "Hold your member QR code up to the camera",
        "member.or_phone": "or enter your mobile number",
        "member.phone_hint": "Enter your 11-digit mobile number",
        "member.sign_in": "Sign in",
        "member.clear": "Clear",
        "member.backspace": "Delete",
        "member.back": "Back",
        "member.checking": "Looking up your membership…",
        "notice.member_not_found": "No member found; please check the number",
        "notice.members_not_offered": "Membership is not offered at this kiosk yet",
        "notice.member_lookup_failed": "Membership cannot be checked now; please try again later",
    }
)

# --- accessibility: the large-text button (issue 12) ---
_ZH.update({"a11y.large_text": "大字"})
_EN.update({"a11y.large_text": "Big text"})

# --- shopping screens: search keypad, item detail, "+1" toast (issue 12) --------------------------
_ZH.update(
    {
        "shop.search": "搜索",
        "shop.search_title": "搜索商品",
        "shop.search_hint": "输入英文名称或条码数字",
        "shop.search_count": "找到 {count} 件商品",
        "shop.search_more": "找到 {count} 件商品，显示前 {shown} 件，请继续输入",
        "shop.search_none": "没有找到“{query}”，请换个词或按分类浏览",
        "shop.search_done": "完成",
        "shop.key.back": "删除",
        "shop.key.clear": "清除",
        "shop.key.space": "空格",
        "shop.key.digits": "数字 123",
        "shop.key.letters": "字母 ABC",
        "shop.info": "详情",
        "shop.in_cart": "购物车中已有 {count} 件",
        "shop.add": "加入购物车  {total}",
        "shop.close": "关闭",
        "shop.added": "+{count} 件 {name}",
    }
)
_EN.update(
    {
        "shop.search": "Search",
        "shop.search_title": "Find a product",
        "shop.search_hint": "Type an English name or barcode digits",
        "shop.search_count": "{count} found",
        "shop.search_more": "{count} found, first {shown} shown: type more",
        "shop.search_none": "Nothing found for “{query}”: try another word or browse by category",
        "shop.search_done": "Done",
        "shop.key.back": "Delete",
        "shop.key.clear": "Clear",
        "shop.key.space": "Space",
        "shop.key.digits": "123",
        "shop.key.letters": "ABC",
        "shop.info": "Info",
        "shop.in_cart": "{count} already in your cart",
        "shop.add": "Add to cart  {total}",
        "shop.close": "Close",
        "shop.added": "+{count} {name}",
    }
)


# --- fault and out-of-service screens (printer out, camera fault, offline, out of service) -------------
_ZH.update(
    {
        "notice.camera_fault": "摄像头故障，请联系工作人员",
        "notice.receipt_on_phone": "打印机缺纸/故障：请扫码查看电子小票",
        "done.receipt_on_phone": "打印机缺纸/故障：请扫码查看电子小票",
        "printer_offer.title": "打印机暂不可用",
        "printer_offer.body": "可使用电子小票：付款后用手机扫码查看",
        "printer_offer.go": "继续付款",
        "printer_offer.cancel": "取消",
        "offline.note": "离线模式：付款正常，数据稍后上传",
        "oos.title": "暂停服务",
        "oos.body": "请使用其他收银台",
        "oos.staff": "工作人员：{code} — {explanation}",
        "oos.reason.payment_not_configured": "未配置付款通道（payments.gateway = none），请IT开通本机",
        "oos.reason.store_not_writable": "本地数据库无法写入（磁盘已满），请清理数据分区，恢复后自动开放",
        "oos.reason.update_held": "更新程序暂停本机已超过5分钟，请在维护菜单（IT）查看更新",
    }
)
_EN.update(
    {
        "notice.camera_fault": "The camera is not working; please ask staff",
        "notice.receipt_on_phone": "Printer out of paper or faulty: scan the code for your e-receipt",
        "done.receipt_on_phone": "Printer out of paper or faulty: scan the code for your e-receipt",
        "printer_offer.title": "The receipt printer is not available",
        "printer_offer.body": "You can take an e-receipt: scan a code with your phone after paying",
        "printer_offer.go": "Continue to pay",
        "printer_offer.cancel": "Cancel",
        "offline.note": "Offline: payments work as usual; data uploads later",
        "oos.title": "Out of service",
        "oos.body": "Please use another checkout",
        "oos.staff": "Staff: {code} — {explanation}",
        "oos.reason.payment_not_configured": "no payment gateway (payments.gateway = none); IT must commission this kiosk",
        "oos.reason.store_not_writable": "the local store refuses writes (disk full); free space on the data partition, selling resumes by itself",
        "oos.reason.update_held": "the update agent has held the kiosk for over 5 minutes; check the update in the staff menu (IT)",
    }
)


# --- out of service: clock not synced, printer gone, gateway unreachable (issues 12 and 13) ----------
_ZH.update(
    {
        "oos.reason.clock_not_synced": "正在等待网络校时：时钟未同步前不能收款（网关要核对时间）。请检查网络并确认可访问NTP（UDP 123），校时后自动开放",
        "oos.reason.printer_gone": "小票打印机长时间不可用（离线、缺纸或开盖），且本机未接入总部无法提供电子小票。请检查打印机电源、线缆和纸卷，恢复后自动开放",
        "oos.reason.gateway_unreachable": "多次连不上支付网关。请检查网络和防火墙（kiosk doctor），恢复后自动开放；正在进行的付款不受影响",
    }
)
_EN.update(
    {
        "oos.reason.clock_not_synced": "waiting for network time: no payment until the clock is synced (the gateways check it). Check the network reaches NTP (UDP 123); selling starts by itself once synced",
        "oos.reason.printer_gone": "the receipt printer has not been ready for a long time (offline, no paper or cover open) and this kiosk cannot give e-receipts (not enrolled with HQ). Check its power, cable and paper; selling resumes by itself",
        "oos.reason.gateway_unreachable": "the payment gateway has not answered several checks in a row. Check the network and firewall (kiosk doctor); selling resumes by itself, and a payment under way is not affected",
    }
)


# --- the enrolment screen (kiosk.enrolment_desk, kiosk/ui/enrol.kv) -----------------------------------
_ZH.update(
    {
        "enrol.title": "登记本机到总部",
        "enrol.qr_caption": "安装人员：扫此码记录本机",
        "enrol.kiosk_id": "本机编号：{kiosk_id}",
        "enrol.fingerprint": "设备密钥指纹：{fingerprint}",
        "enrol.hq": "总部地址：{url}",
        "enrol.scan": "请将总部的登记码（hq device enroll-code）对准摄像头或扫码枪",
        "enrol.redeeming": "正在向总部 {url} 登记，请稍候…",
        "enrol.done": "登记成功，本机开始营业",
        "enrol.restart_needed": "凭据已保存，但本机未能立即连接总部（{reason}）：请重启本机",
        "enrol.failed_unexpectedly": "登记意外失败（{reason}）：请再扫一次；仍不行请查看日志",
        "enrol.other_hq": '这个登记码属于总部 {url}，但本机设置的总部是 {configured}：请在 /etc/kiosk/kiosk.toml 中设置 [hq] url = "{url}" 并重启，或向本机的总部索取登记码',
        "enrol.problem.not_enrolment": "这不是总部的登记码（应以 {prefix}: 开头）：请扫描 hq device enroll-code 打印的二维码",
        "enrol.problem.unknown_version": "这个登记码来自更新版本的总部：请先更新本机软件",
        "enrol.problem.too_long": "这个二维码太长，不是登记码：请扫描 hq device enroll-code 打印的二维码",
        "enrol.problem.bad_url": "登记码中的总部地址无效：请让总部管理员用正确的 --hq-url 重新生成",
        "enrol.problem.insecure_url": "登记码中的总部地址不安全：必须是 https，或局域网/本机地址的 http；请让总部管理员重新生成",
        "enrol.problem.bad_code": "登记码不完整（应为 16 个字母或数字）：请再扫一次，或重新生成",
        "oos.reason.not_enrolled": "本机尚未登记到总部：请扫描总部的登记码（hq device enroll-code）",
    }
)
_EN.update(
    {
        "enrol.title": "Enrol this kiosk at HQ",
        "enrol.qr_caption": "Installer: scan to note this kiosk",
        "enrol.kiosk_id": "Kiosk id: {kiosk_id}",
        "enrol.fingerprint": "Device key fingerprint: {fingerprint}",
        "enrol.hq": "HQ: {url}",
        "enrol.scan": "Scan the enrolment code from HQ (hq device enroll-code) with the camera or the hand scanner",
        "enrol.redeeming": "Enrolling at HQ {url}, please wait…",
        "enrol.done": "Enrolled: this kiosk is open for sale",
        "enrol.restart_needed": "The credentials are saved, but the kiosk could not switch to HQ now ({reason}): restart the kiosk",
        "enrol.failed_unexpectedly": "The enrolment failed unexpectedly ({reason}): scan the code again; if it happens again, read the log",
        "enrol.other_hq": 'This code is for HQ {url}, but this kiosk is set to HQ {configured}: set [hq] url = "{url}" in /etc/kiosk/kiosk.toml and restart, or ask this kiosk\'s HQ for a code',
        "enrol.problem.not_enrolment": "That is not an HQ enrolment code (it starts with {prefix}:): scan the QR that hq device enroll-code prints",
        "enrol.problem.unknown_version": "This enrolment code is from a newer HQ: update this kiosk's software first",
        "enrol.problem.too_long": "That QR is too long to be an enrolment code: scan the QR that hq device enroll-code prints",
        "enrol.problem.bad_url": "The HQ address in the code is not usable: ask the HQ admin to make it again with the right --hq-url",
        "enrol.problem.insecure_url": "The HQ address in the code is not safe: it must be https, or http to this machine or a LAN address; ask the HQ admin to make it again",
        "enrol.problem.bad_code": "The enrolment code is incomplete (16 letters or digits): scan it again, or make a new one",
        "oos.reason.not_enrolled": "this kiosk is not enrolled at HQ: scan HQ's enrolment code (hq device enroll-code)",
    }
)


# --- the member sign-in screen (issue 12): member QR codes, the screen's own camera line ---------------
_ZH.update(
    {
        "notice.not_a_member_code": "这不是会员码，请出示会员二维码或输入手机号",
        "member.camera_starting": "摄像头启动中，也可输入手机号",
    }
)
_EN.update(
    {
        "notice.not_a_member_code": "That is not a member code; show your member QR code or enter your mobile number",
        "member.camera_starting": "Starting the camera; you can also enter your mobile number",
    }
)


# --- IT: SSH on and off from maintenance mode (kiosk.staff_it.ssh, kiosk.maintenance.ssh_keys) -------
_ZH.update(
    {
        "maint.action.ssh": "SSH 远程登录",
        "it.ssh.line": "第 {line} 行：{reason}",
        "it.ssh.bad.options": "不接受带选项的密钥（{options}…）：每行只能是“类型 密钥 备注”",
        "it.ssh.bad.type": "不接受 {kind} 类型的密钥：请用 ssh-ed25519、ecdsa 或至少 3072 位的 ssh-rsa",
        "it.ssh.bad.not_a_key": "这不是 OpenSSH 公钥（应以 ssh-ed25519、ecdsa-sha2-… 或 ssh-rsa 开头）",
        "it.ssh.bad.damaged": "密钥内容已损坏或不完整：请重新复制 .pub 文件",
        "it.ssh.bad.type_mismatch": "密钥内容与其类型名称不符：请重新复制 .pub 文件",
        "it.ssh.bad.rsa_short": "RSA 密钥只有 {bits} 位，至少需要 {least} 位：请生成新密钥（ssh-keygen -t ed25519）",
        "it.ssh.bad.comment": "备注只能是英文字母、数字和符号，最多 {most} 个字符：请修改该行末尾的备注",
        "it.ssh.bad.twice": "同一个密钥出现了两次：请删除重复的一行",
        "it.ssh.bad.too_many": "密钥太多：最多 {most} 个",
        "it.ssh.bad.too_big": "文件太大（最多 {most} KB）：这不像密钥文件",
        "it.ssh.bad.no_key": "文件里没有公钥",
        "it.ssh.bad.empty": "空行",
        "it.ssh.bad.not_text": "文件不是文本（UTF-8）：请放入 OpenSSH 公钥文件",
        "it.ssh.not_listed": "{path} 不是U盘上列出的密钥文件：请从列表中选择",
        "it.ssh.no_list": "本机没有 IT 的密钥清单（{path}），无法开启 SSH：请用 --it-keys 制作镜像，或以 root 身份把清单放到存储卡上（见运维手册“IT's allow-list”）",
        "it.ssh.unreadable": "无法读取 {path}：{reason}",
        "it.ssh.on_until": "SSH 已开启，到 {until} 自动关闭",
        "it.ssh.on_no_limit": "SSH 已开启（未设时限：请用本页关闭）",
        "it.ssh.expired": "SSH 已关闭：时限已于 {until} 到期",
        "it.ssh.off": "SSH 已关闭",
        "it.ssh.off_still_running": "SSH 正在关闭：sshd 仍在运行，本机的 SSH 服务会在一分钟内停止它（若仍在运行，见 journalctl -u kiosk-ssh）",
        "it.ssh.expired_still_running": "SSH 的时限已于 {until} 到期：sshd 仍在运行，本机的 SSH 服务会在一分钟内停止它（若仍在运行，见 journalctl -u kiosk-ssh）",
        "it.ssh.sshd": "本机 sshd：{state}",
        "it.ssh.keys": "允许登录的密钥（{n} 个）：",
        "it.ssh.keys_in_file": "文件中的密钥（{n} 个，均已检查）：",
        "it.ssh.keys_bad": "密钥文件 {path} 不可用：{reason}",
        "it.ssh.pick": "选择U盘上的公钥文件（authorized_keys 或 .pub）以开启 SSH",
        "it.ssh.insert": "要开启 SSH：请插入存有公钥文件（authorized_keys 或 .pub）的U盘",
        "it.ssh.refused": "未开启 SSH：{reason}",
        "it.ssh.checked": "{n} 个密钥检查通过：按两次“开启 SSH”",
        "it.ssh.turned_on": "SSH 已开启，{n} 个密钥，到 {until} 自动关闭；用户名 it，仅限密钥登录",
        "it.ssh.turned_off": "SSH 已关闭，密钥文件已删除",
        "it.ssh.write_failed": "无法写入 {path}：{reason}",
        "it.ssh.on_button": "开启 SSH",
        "it.ssh.off_button": "关闭 SSH",
        "it.ssh.pick_first": "请先选择一个密钥文件",
        "it.ssh.confirm_on": "用上面列出的密钥开启 SSH？再按一次确认",
        "it.ssh.list_unreadable": "无法读取 IT 的密钥清单 {path}（{reason}），本机无法核对密钥，因此不能开启 SSH：清单应归 root 所有、权限 0644（见运维手册“IT's allow-list”）",
        "it.ssh.none_listed": "{file} 中的密钥都不在 IT 的密钥清单 {path} 上：请以 root 身份把该密钥加入清单后再试（见运维手册“IT's allow-list”）",
        "it.ssh.check_none": "这些密钥无法开启 SSH：{reason}",
        "it.ssh.checked_some": "{n} 个密钥检查通过，其中 {left} 个不在 IT 的密钥清单上，开启时将被略去：按两次“开启 SSH”",
        "it.ssh.mark.on_list": "[在 IT 清单上]",
        "it.ssh.mark.off_list": "[不在 IT 清单上]",
        "it.ssh.asked_not_running": "已请求开启 SSH（到 {until}），但 SSH 没有运行：本机的 SSH 服务没有开启它（原因见 journalctl -u kiosk-ssh：例如 IT 的清单已更改、不只属于 root，或重启后尚未同步网络时间）",
        "it.ssh.asked_not_running_no_limit": "已请求开启 SSH，但 SSH 没有运行：本机的 SSH 服务没有开启它（原因见 journalctl -u kiosk-ssh：例如 IT 的清单已更改、不只属于 root，或重启后尚未同步网络时间）",
        "it.ssh.not_started": "已请求开启 SSH（{n} 个密钥，到 {until}），但 {s} 秒后 sshd 仍未运行：本机的 SSH 服务没有开启它（见 journalctl -u kiosk-ssh）；可按“刷新”再看",
        "it.ssh.left_out": "{said}。不在 IT 清单上、已略去的密钥：{fingerprints}",
        "it.ssh.left_out_keys": "已略去的密钥（{n} 个，不在 IT 的清单上）：",
    }
)
_EN.update(
    {
        "maint.action.ssh": "SSH",
        "it.ssh.line": "line {line}: {reason}",
        "it.ssh.bad.options": "keys with options ({options}...) are not accepted: each line must be just type, key, comment",
        "it.ssh.bad.type": "{kind} keys are not accepted: use ssh-ed25519, ecdsa or ssh-rsa of at least 3072 bits",
        "it.ssh.bad.not_a_key": "not an OpenSSH public key (it must start with ssh-ed25519, ecdsa-sha2-... or ssh-rsa)",
        "it.ssh.bad.damaged": "the key is damaged or cut short: copy the .pub file again",
        "it.ssh.bad.type_mismatch": "the key does not match its type name: copy the .pub file again",
        "it.ssh.bad.rsa_short": "the RSA key has {bits} bits, at least {least} are needed: make a new key (ssh-keygen -t ed25519)",
        "it.ssh.bad.comment": "the comment may hold only plain ASCII letters, digits and signs, at most {most}: edit the comment at the end of the line",
        "it.ssh.bad.twice": "the same key is there twice: remove one line",
        "it.ssh.bad.too_many": "too many keys: at most {most}",
        "it.ssh.bad.too_big": "the file is too big (at most {most} KB): this is not a key file",
        "it.ssh.bad.no_key": "the file holds no public key",
        "it.ssh.bad.empty": "an empty line",
        "it.ssh.bad.not_text": "the file is not text (UTF-8): put an OpenSSH public key file on the stick",
        "it.ssh.not_listed": "{path} is not a key file listed on a USB stick: pick one from the list",
        "it.ssh.no_list": "this kiosk has no list of IT's keys ({path}), so SSH cannot be turned on: build the image with --it-keys, or put the list on the card as root (operations guide, \"IT's allow-list\")",
        "it.ssh.unreadable": "cannot read {path}: {reason}",
        "it.ssh.on_until": "SSH is ON until {until}, then it turns itself off",
        "it.ssh.on_no_limit": "SSH is ON (no time limit: turn it off here)",
        "it.ssh.expired": "SSH is off: its time limit ran out at {until}",
        "it.ssh.off": "SSH is off",
        "it.ssh.off_still_running": "SSH is being turned off: sshd still runs, and the kiosk's SSH service stops it within a minute (if it does not, see journalctl -u kiosk-ssh)",
        "it.ssh.expired_still_running": "SSH's time limit ran out at {until}: sshd still runs, and the kiosk's SSH service stops it within a minute (if it does not, see journalctl -u kiosk-ssh)",
        "it.ssh.sshd": "sshd on this kiosk: {state}",
        "it.ssh.keys": "Keys let in ({n}):",
        "it.ssh.keys_in_file": "Keys in the file ({n}, each checked):",
        "it.ssh.keys_bad": "The keys file {path} is not usable: {reason}",
        "it.ssh.pick": "pick a public key file on the USB stick (authorized_keys or .pub) to turn SSH on",
        "it.ssh.insert": "to turn SSH on, insert a USB stick with a public key file (authorized_keys or .pub)",
        "it.ssh.refused": "SSH not turned on: {reason}",
        "it.ssh.checked": "{n} key(s) checked: press Turn SSH on twice",
        "it.ssh.turned_on": "SSH is on for {n} key(s) until {until}; user it, keys only",
        "it.ssh.turned_off": "SSH turned off and the keys file removed",
        "it.ssh.write_failed": "cannot write {path}: {reason}",
        "it.ssh.on_button": "Turn SSH on",
        "it.ssh.off_button": "Turn SSH off",
        "it.ssh.pick_first": "pick a key file first",
        "it.ssh.confirm_on": "Turn SSH on with the keys listed above? Press again to confirm",
        "it.ssh.list_unreadable": "cannot read IT's list of keys {path} ({reason}), so the kiosk cannot check keys against it and SSH cannot be turned on: the list must be root's with mode 0644 (operations guide, \"IT's allow-list\")",
        "it.ssh.none_listed": "none of the keys in {file} is on IT's list of keys {path}: add the key to that list as root, then try again (operations guide, \"IT's allow-list\")",
        "it.ssh.check_none": "these keys cannot turn SSH on: {reason}",
        "it.ssh.checked_some": "{n} key(s) checked, {left} of them not on IT's list of keys and left out when SSH is turned on: press Turn SSH on twice",
        "it.ssh.mark.on_list": "[on IT's list]",
        "it.ssh.mark.off_list": "[NOT on IT's list]",
        "it.ssh.asked_not_running": "SSH was asked on (until {until}) but is not running: the kiosk's SSH service did not turn it on (journalctl -u kiosk-ssh says why: IT's list changed or not root's alone, or a restart before network time, for example)",
        "it.ssh.asked_not_running_no_limit": "SSH was asked on but is not running: the kiosk's SSH service did not turn it on (journalctl -u kiosk-ssh says why: IT's list changed or not root's alone, or a restart before network time, for example)",
        "it.ssh.not_started": "SSH was asked on for {n} key(s) until {until}, but sshd is still not running after {s} s: the kiosk's SSH service did not turn it on (see journalctl -u kiosk-ssh); press Refresh to look again",
        "it.ssh.left_out": "{said}. Left out, not on IT's list: {fingerprints}",
        "it.ssh.left_out_keys": "Left out ({n}, not on IT's list):",
    }
)
