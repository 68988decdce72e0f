"""Every message HQ shows a person, in English and Simplified Chinese.

The API answers with both (``error`` and ``error_zh``) so a kiosk can show the one its screen is in;
the ``hq`` command prints the one the admin's locale asks for (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``,
``LANG``; anything starting with ``zh`` means Chinese).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Language = Literal["zh_CN", "en"]


@dataclass(frozen=True, slots=True)
class Text:
    en: str
    zh: str

    def format(self, **values: Any) -> Text:
        """Fill the placeholders; a ``Text`` value is filled in the matching language."""
        en = {k: v.en if isinstance(v, Text) else v for k, v in values.items()}
        zh = {k: v.zh if isinstance(v, Text) else v for k, v in values.items()}
        return Text(self.en.format(**en), self.zh.format(**zh))

    def pick(self, language: Language) -> str:
        return self.zh if language == "zh_CN" else self.en

    def __str__(self) -> str:
        return self.en


def cli_language(environ: Mapping[str, str] | None = None) -> Language:
    """The admin's language, by the usual locale variables in their usual order of precedence."""
    env = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            return "zh_CN" if value.lower().startswith("zh") else "en"
    return "en"


# --- API ------------------------------------------------------------------------------------------

SIGNATURE_MISSING = Text(
    "this request is not signed: kiosks sign every request (docs/sync-protocol.md §2); enrol the kiosk "
    "with `kiosk enroll CODE --hq URL` using a code from `hq device enroll-code --store STORE`",
    "请求未签名：收银机的每个请求都须签名（见 docs/sync-protocol.md 第 2 节）；请用 "
    "`hq device enroll-code --store 门店` 生成注册码，并在收银机上运行 `kiosk enroll 注册码 --hq 地址`",
)
KIOSK_UNKNOWN = Text(
    "HQ has not enrolled this kiosk: make a code with `hq device enroll-code --store STORE` and run "
    "`kiosk enroll CODE --hq URL` on the kiosk",
    "HQ 中没有这台收银机：请用 `hq device enroll-code --store 门店` 生成注册码，并在收银机上运行 "
    "`kiosk enroll 注册码 --hq 地址`",
)
KIOSK_REVOKED = Text(
    "this kiosk was revoked at HQ; an HQ admin can enrol it again with a new code "
    "(`hq device enroll-code --store STORE --kiosk-id KIOSK`)",
    "这台收银机已在 HQ 被吊销；HQ 管理员可生成新的注册码重新注册"
    "（`hq device enroll-code --store 门店 --kiosk-id 收银机`）",
)
SIGNATURE_WRONG = Text(
    "the request's signature is wrong: the kiosk's credentials file does not match HQ (it was enrolled "
    "again elsewhere, or the file was copied); enrol it again with a new code",
    "请求签名不正确：收银机的凭据文件与 HQ 不符（可能已在别处重新注册，或文件被复制）；请用新的注册码重新注册",
)
CLOCK_OFF = Text(
    "the request's time is too far from HQ's clock; the kiosk corrects this itself from X-HQ-Time and "
    "retries. If it keeps happening, set the kiosk's clock (NTP)",
    "请求时间与 HQ 时钟相差过大；收银机会根据 X-HQ-Time 自动校正并重试。若持续出现，请校准收银机时钟（NTP）",
)
REPLAYED = Text(
    "HQ has already seen this signed request (same nonce); a captured request cannot be sent twice. "
    "Sign each request anew",
    "HQ 已收到过这个签名请求（随机数重复）；截获的请求不能重放。每个请求都须重新签名",
)
TOO_MANY_BAD_KEYS = Text(
    "too many failed sign-ins came from this address; HQ refuses its requests for {seconds} s more "
    "(Retry-After). Check the kiosk's credentials file, or enrol it again with a new code",
    "该地址的认证失败次数过多；HQ 在 {seconds} 秒内拒绝其请求（见 Retry-After）。"
    "请检查收银机的凭据文件，或用新的注册码重新注册",
)
WRONG_KIOSK = Text(
    "these sales name a kiosk_id other than {kiosk_id}, the kiosk this API key belongs to; "
    "set the kiosk's [kiosk] id to {kiosk_id} or use that kiosk's own key",
    "这些销售记录的 kiosk_id 与本 API 密钥所属的收银机 {kiosk_id} 不符；"
    "请把收银机配置 [kiosk] id 设为 {kiosk_id}，或使用该收银机自己的密钥",
)
CONFLICT = Text(
    "these order_ids are already stored at HQ with different content, or appear twice in this request "
    "with different content; HQ never overwrites a sale, so nothing from this request was stored: "
    "remove them from the upload and report them to HQ",
    "这些 order_id 已以不同内容存于 HQ，或在本次请求中以不同内容出现两次；HQ 不会覆盖销售记录，"
    "本次请求未保存任何记录：请将其移出上传并报告 HQ",
)
INVALID_SALES = Text(
    "the body is not a valid list of sale records (see docs/sale-payload.md); "
    "each entry in detail names the record (index, order_id), the field and what is wrong",
    "请求体不是有效的销售记录列表（见 docs/sale-payload.md）；detail 中每一项指出记录（index、order_id）、字段及错误",
)
WRONG_KIOSK_REFUNDS = Text(
    "these refunds name a kiosk_id other than {kiosk_id}, the kiosk this API key belongs to; "
    "set the kiosk's [kiosk] id to {kiosk_id} or use that kiosk's own key",
    "这些退款记录的 kiosk_id 与本 API 密钥所属的收银机 {kiosk_id} 不符；"
    "请把收银机配置 [kiosk] id 设为 {kiosk_id}，或使用该收银机自己的密钥",
)
REFUND_CONFLICT = Text(
    "these out_refund_no are already stored at HQ with different content, or appear twice in this request "
    "with different content; HQ never overwrites a refund, so nothing from this request was stored: "
    "remove them from the upload and report them to HQ",
    "这些 out_refund_no 已以不同内容存于 HQ，或在本次请求中以不同内容出现两次；HQ 不会覆盖退款记录，"
    "本次请求未保存任何记录：请将其移出上传并报告 HQ",
)
REFUNDS_REFUSED = Text(
    "HQ cannot take these refunds as they stand (detail names each by index and out_refund_no, and why); "
    "nothing from this request was stored. A refund of a sale HQ does not hold yet is taken once the sale "
    "has been uploaded: send it again later",
    "HQ 无法接受这些退款记录（detail 按 index 和 out_refund_no 列出每一条及原因）；本次请求未保存任何记录。"
    "若 HQ 尚无对应销售记录，请先上传销售记录，稍后再发送退款",
)
INVALID_REFUNDS = Text(
    "the body is not a valid list of refund records (see docs/hq.md); "
    "each entry in detail names the record (index), the field and what is wrong",
    "请求体不是有效的退款记录列表（见 docs/hq.md）；detail 中每一项指出记录（index）、字段及错误",
)
INVALID_REQUEST = Text(
    "the request is not valid; detail names the part that is wrong",
    "请求无效；detail 指出错误的部分",
)
TOO_LARGE = Text(
    "the request body is larger than {limit} bytes; send at most 1000 sales per request",
    "请求体超过 {limit} 字节；每次请求最多发送 1000 条销售记录",
)
LENGTH_REQUIRED = Text(
    "send the body with a Content-Length header (no chunked uploads)",
    "请求体须带 Content-Length 请求头（不支持分块上传）",
)
NOT_FOUND = Text("no such endpoint: {path}", "没有这个接口：{path}")
METHOD_NOT_ALLOWED = Text("method {method} is not allowed on {path}", "{path} 不支持 {method} 方法")
HTTP_ERROR = Text("HTTP error {status}: {reason}", "HTTP 错误 {status}：{reason}")
SERVER_ERROR = Text(
    "HQ hit an internal error and stored nothing from this request; retry later, and tell the HQ admin "
    "if it persists",
    "HQ 内部错误，本次请求未保存任何内容；请稍后重试，若持续出现请联系 HQ 管理员",
)
DATABASE_BUSY = Text(
    "the HQ database is busy or unreachable; nothing from this request was stored, retry later",
    "HQ 数据库繁忙或无法连接；本次请求未保存任何内容，请稍后重试",
)

# --- CLI ------------------------------------------------------------------------------------------

BAD_KIOSK_ID = Text(
    "kiosk id {kiosk_id!r} is not allowed: use 1-64 letters, digits, '.', '_' or '-' (the kiosk's [kiosk] id)",
    "收银机编号 {kiosk_id!r} 无效：只能用 1-64 个字母、数字、'.'、'_' 或 '-'（即收银机配置 [kiosk] id）",
)
NEVER = Text("never", "从未")
IMPORTED = Text(
    "imported {count} products from {path}: {created} new, {updated} updated",
    "已从 {path} 导入 {count} 个商品：新增 {created} 个，更新 {updated} 个",
)
SEEDED = Text("added {count} demo products", "已添加 {count} 个演示商品")
IMPORT_REFUSED = Text(
    "{path}: nothing imported, {count} problem(s) found; fix them and import again:",
    "{path}：未导入任何商品，发现 {count} 个问题；请修正后重新导入：",
)
AND_MORE = Text("... and {count} more", "……另有 {count} 个")
LISTENING = Text("HQ listening on {url} (database {db})", "HQ 正在监听 {url}（数据库 {db}）")
CANNOT_LISTEN = Text(
    "cannot listen on {host}:{port} ({reason}); pick another --port or stop the program using it",
    "无法监听 {host}:{port}（{reason}）；请换一个 --port，或停止占用该端口的程序",
)
DB_FOLDER_MISSING = Text(
    "the folder {folder} for the HQ database does not exist, and HQ makes only the last folder of the "
    "path: {parent} does not exist either. Check the database URL, or create the folders "
    "(`install -d -m 700 {folder}`), or pass --db sqlite:///another/folder/hq.sqlite3",
    "HQ 数据库所在的文件夹 {folder} 不存在，而 HQ 只会创建路径中的最后一级文件夹：{parent} 也不存在。"
    "请检查数据库 URL，或先创建这些文件夹（`install -d -m 700 {folder}`），"
    "或改用 --db sqlite:///另一个文件夹/hq.sqlite3",
)
DB_FOLDER_UNCREATABLE = Text(
    "cannot create the folder {folder} for the HQ database ({reason}); create it for the user HQ runs as "
    "(`sudo install -d -m 700 -o USER {folder}`) or pass --db sqlite:///a/folder/you/own/hq.sqlite3",
    "无法创建 HQ 数据库所在的文件夹 {folder}（{reason}）；请为运行 HQ 的用户创建它"
    "（`sudo install -d -m 700 -o 用户名 {folder}`），或改用 --db sqlite:///你有权限的文件夹/hq.sqlite3",
)
DB_FILE_UNCREATABLE = Text(
    "cannot create the HQ database file {path} ({reason}); make its folder writable for the user HQ "
    "runs as, or pass --db sqlite:///a/folder/you/own/hq.sqlite3",
    "无法创建 HQ 数据库文件 {path}（{reason}）；请让运行 HQ 的用户可写入该文件夹，"
    "或改用 --db sqlite:///你有权限的文件夹/hq.sqlite3",
)
BAD_ENCODING = Text(
    "--encoding {encoding!r} is not a text encoding Python knows; try utf-8 or gb18030",
    "--encoding {encoding!r} 不是可识别的文本编码；请用 utf-8 或 gb18030",
)
FILE_UNREADABLE = Text("{path}: cannot read it ({reason})", "{path}：无法读取（{reason}）")
FILE_NOT_UTF8 = Text(
    "{path}: not UTF-8 text; save it as 'CSV UTF-8' or pass --encoding gb18030",
    "{path}：不是 UTF-8 文本；请另存为“CSV UTF-8”，或加 --encoding gb18030",
)

# --- catalog rows ---------------------------------------------------------------------------------

ROW_PROBLEM = Text(
    "row {row}, column {column}, value {value!r}: {problem}",
    "第 {row} 行，{column} 列，值 {value!r}：{problem}",
)
CSV_EMPTY = Text(
    "the file is empty; the first row must be the header sku,name_zh,name_en,price_fen,barcode,category",
    "文件为空；第一行必须是表头 sku,name_zh,name_en,price_fen,barcode,category",
)
CSV_MISSING_COLUMN = Text("the header has no column {column}", "表头缺少 {column} 列")
CSV_UNKNOWN_COLUMN = Text(
    "unknown column; the columns are sku,name_zh,name_en,price_fen,barcode,category",
    "未知列；可用的列为 sku,name_zh,name_en,price_fen,barcode,category",
)
CSV_DUPLICATE_COLUMN = Text("this column appears twice in the header", "表头中此列出现了两次")
CSV_FIELD_COUNT = Text(
    "this row has {got} fields but the header has {want}; check for a stray comma (quote names that contain commas)",
    "此行有 {got} 个字段，表头有 {want} 个；请检查多余的逗号（含逗号的名称请加引号）",
)
CSV_SYNTAX = Text("the CSV cannot be read here: {reason}", "此处 CSV 格式错误：{reason}")
BAD_SKU = Text(
    "an SKU is 1-64 letters, digits, '.', '_' or '-'", "SKU 须为 1-64 个字母、数字、'.'、'_' 或 '-'"
)
BAD_NAME = Text(
    "a name is 1-128 characters without control characters", "名称须为 1-128 个字符，且不含控制字符"
)
BAD_CATEGORY = Text(
    "a category is 1-64 characters without control characters", "类别须为 1-64 个字符，且不含控制字符"
)
BAD_PRICE = Text(
    "a price is a whole number of fen from 0 to {max}, e.g. 350 for ¥3.50",
    "价格须为 0 到 {max} 之间的整数（单位：分），例如 ¥3.50 写作 350",
)
PRICE_IN_YUAN = Text(
    "this looks like yuan; prices are whole fen, e.g. 350 for ¥3.50",
    "这像是以元为单位；价格须以分为单位的整数，例如 ¥3.50 写作 350",
)
BAD_BARCODE = Text(
    "a barcode is empty or an EAN-13, EAN-8 or UPC-A number (8, 12 or 13 digits)",
    "条码须为空，或为 EAN-13、EAN-8、UPC-A（8、12 或 13 位数字）",
)
BAD_CHECK_DIGIT = Text(
    "the check digit is wrong (it should be {digit}); check the number against the package",
    "校验位错误（应为 {digit}）；请对照包装核对条码",
)
DUPLICATE_SKU = Text("this SKU is also on row {other}", "此 SKU 与第 {other} 行重复")
DUPLICATE_BARCODE = Text("this barcode is also on row {other}", "此条码与第 {other} 行重复")
BARCODE_TAKEN = Text(
    "this barcode belongs to product {sku} at HQ; change one of them",
    "此条码已属于 HQ 中的商品 {sku}；请修改其中之一",
)

# --- sync data plane: events, catalog versions, prices, settings, webhooks, sales export -------------

INVALID_EVENTS = Text(
    'the body is not a valid batch of events: send {"events": [...]} with at most 1000 events '
    "(docs/sync-protocol.md §3); detail names the part that is wrong",
    '请求体不是有效的事件批次：请发送 {"events": [...]}，最多 1000 个事件'
    "（见 docs/sync-protocol.md §3）；detail 指出错误的部分",
)
BAD_SINCE = Text(
    "since is the catalog version the kiosk holds, a whole number from 0 (0: send everything)",
    "since 为收银机已有的商品目录版本，须为从 0 起的整数（0 表示全部发送）",
)
BAD_IMAGE_URL = Text(
    "an image_url is empty, an https:// address or a path starting with /, at most 512 characters",
    "image_url 须为空、https:// 地址或以 / 开头的路径，最多 512 个字符",
)
BAD_ACTIVE = Text(
    "active is 1 (on sale) or 0 (taken off sale); yes/no and true/false work too",
    "active 须为 1（在售）或 0（下架）；也可写 yes/no 或 true/false",
)
CSV_EMPTY_OF = Text(
    "the file is empty; the first row must be the header {columns}",
    "文件为空；第一行必须是表头 {columns}",
)
CSV_UNKNOWN_COLUMN_OF = Text("unknown column; the columns are {columns}", "未知列；可用的列为 {columns}")
DUPLICATE_CATEGORY = Text("this category code is also on row {other}", "此类别代码与第 {other} 行重复")
UNKNOWN_SKU = Text(
    "HQ has no product with this SKU; import it with hq catalog import first",
    "HQ 中没有此 SKU 的商品；请先用 hq catalog import 导入",
)
NO_STORE_PRICE = Text(
    "store {store} has no price of its own for: {skus}; nothing was changed",
    "门店 {store} 没有以下商品的门店价：{skus}；未做任何修改",
)
NO_SUCH_STORE = Text(
    "HQ has no store {store}; add it first (hq store add)", "HQ 中没有门店 {store}；请先添加（hq store add）"
)
NO_SUCH_KIOSK = Text(
    "HQ has no kiosk {kiosk_id}; check the id (hq device list)",
    "HQ 中没有收银机 {kiosk_id}；请核对编号（hq device list）",
)
BAD_SETTING_KEY = Text(
    "{key!r} is not a setting name: 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit",
    "{key!r} 不是有效的设置名：须为 1-128 个字母、数字、'.'、'_' 或 '-'，以字母或数字开头",
)
SETTING_NOT_JSON = Text(
    "the value is not JSON ({reason}); write text in double quotes, e.g. '\"zh_CN\"', or a number, true, a list",
    "该值不是 JSON（{reason}）；文本须加双引号，例如 '\"zh_CN\"'，或写数字、true、列表",
)
SETTING_NULL = Text(
    "null is not a value; to remove a setting use hq settings unset",
    "null 不是有效值；删除设置请用 hq settings unset",
)
SETTING_TOO_LONG = Text(
    "the value is longer than {limit} bytes; settings are small, keep files elsewhere",
    "该值超过 {limit} 字节；设置应简短，文件请另行存放",
)
NO_SUCH_SETTING = Text(
    "{scope} has no setting {key}; nothing was changed", "{scope} 没有设置 {key}；未做任何修改"
)
CATEGORIES_IMPORTED = Text(
    "{path}: {count} categories read, {changed} added or changed (catalog version {version})",
    "{path}：读取 {count} 个类别，新增或修改 {changed} 个（商品目录版本 {version}）",
)
PRICES_IMPORTED = Text(
    "{path}: {count} prices for store {store} read, {changed} changed (catalog version {version})",
    "{path}：读取门店 {store} 的 {count} 个价格，修改 {changed} 个（商品目录版本 {version}）",
)
PRICES_REMOVED = Text(
    "store {store}: {count} store prices removed; those products sell at their own price again "
    "(catalog version {version})",
    "门店 {store}：已删除 {count} 个门店价，这些商品恢复按商品自身价格销售（商品目录版本 {version}）",
)
SETTING_SET = Text(
    "{scope}: {key} = {value} (catalog version {version})",
    "{scope}：{key} = {value}（商品目录版本 {version}）",
)
SETTING_UNCHANGED = Text(
    "{scope}: {key} already is {value}; nothing changed", "{scope}：{key} 已经是 {value}；未做修改"
)
SETTING_UNSET = Text(
    "{scope}: {key} removed (catalog version {version})", "{scope}：已删除 {key}（商品目录版本 {version}）"
)
BAD_DATE = Text(
    "{value!r} is not a date; write YYYY-MM-DD (a UTC day) or an ISO 8601 time with its offset",
    "{value!r} 不是日期；请写 YYYY-MM-DD（UTC 日期）或带时区偏移的 ISO 8601 时间",
)
EXPORT_EXISTS = Text(
    "{path} exists already; HQ never overwrites a file: give a new name or move the old file away",
    "{path} 已存在；HQ 不会覆盖文件：请换一个文件名，或先移走旧文件",
)
EXPORT_UNWRITABLE = Text("{path}: cannot write it ({reason})", "{path}：无法写入（{reason}）")
EXPORTED = Text("{path}: {count} sales exported", "{path}：已导出 {count} 笔销售")


# --- identity: stores, enrolment, revocation, admins, fleet status ---------------------------------

ENROL_CODE_REFUSED = Text(
    "this enrolment code is wrong, used or expired; ask the HQ admin for a new one "
    "(`hq device enroll-code --store STORE`) and enter it within its lifetime",
    "注册码错误、已使用或已过期；请向 HQ 管理员索取新的注册码（`hq device enroll-code --store 门店`），并在有效期内使用",
)
ENROL_KIOSK_MISMATCH = Text(
    "this code enrols kiosk {named}, not {sent}; leave kiosk_id out or send {named}",
    "此注册码用于收银机 {named}，而不是 {sent}；请不填 kiosk_id，或填 {named}",
)
ENROL_KIOSK_REQUIRED = Text(
    "this code names no kiosk, so send the kiosk's id (kiosk_id, its [kiosk] id)",
    "此注册码未指定收银机，请发送收银机编号 kiosk_id（即收银机配置 [kiosk] id）",
)
ENROL_OTHER_STORE = Text(
    "kiosk {kiosk_id} is enrolled in another store; give this kiosk another id, or have the admin of "
    "that store revoke it first (`hq device revoke {kiosk_id}`) and enrol it there again",
    "收银机 {kiosk_id} 已注册在其他门店；请给这台收银机换一个编号，或请该门店管理员先吊销"
    "（`hq device revoke {kiosk_id}`）后在该门店重新注册",
)
BAD_FIELD = Text("{field}: {problem}", "{field}：{problem}")
ADMIN_SIGN_IN_FAILED = Text(
    "wrong admin name or password, or the admin is disabled; an HQ operator can add one with "
    "`hq admin add NAME`",
    "管理员名称或密码错误，或该管理员已停用；HQ 运维人员可用 `hq admin add 名称` 添加管理员",
)
ADMIN_TOKEN_REFUSED = Text(
    "sign in first: POST /api/v1/admin/login, then send `Authorization: Bearer <token>`; a token "
    "lasts 12 hours and ends when its admin is disabled",
    "请先登录：POST /api/v1/admin/login，然后发送 `Authorization: Bearer <token>`；令牌有效期 12 小时，"
    "管理员被停用后立即失效",
)
STORE_EXISTS = Text(
    "a store with code {code} exists already; pick another code (`hq store list` shows them)",
    "门店编码 {code} 已存在；请换一个编码（`hq store list` 可查看已有门店）",
)
STORE_UNKNOWN = Text(
    "HQ has no store with code {code}; add it with `hq store add {code} --name NAME` "
    "(`hq store list` shows the stores)",
    "HQ 中没有编码为 {code} 的门店；请用 `hq store add {code} --name 名称` 添加（`hq store list` 可查看已有门店）",
)
DEVICE_UNKNOWN = Text(
    "HQ has no kiosk {kiosk_id}; `hq device list` shows the kiosks it knows",
    "HQ 中没有收银机 {kiosk_id}；`hq device list` 可查看已有收银机",
)
BAD_STORE = Text(
    "store code {code!r} or name {name!r} is not allowed: a code is 1-64 letters, digits, '.', '_' or "
    "'-', a name 1-128 characters",
    "门店编码 {code!r} 或名称 {name!r} 无效：编码须为 1-64 个字母、数字、'.'、'_' 或 '-'，名称须为 1-128 个字符",
)
STORE_ADDED = Text("store {code} ({name}) added", "已添加门店 {code}（{name}）")
NO_STORES = Text(
    "no stores yet; add one with `hq store add CODE --name NAME`",
    "还没有门店；用 `hq store add 编码 --name 名称` 添加",
)
STORE_HEADER = Text("code  name  kiosks  created_at (UTC)", "编码  名称  收银机数  创建时间（UTC）")
BAD_TTL = Text(
    "--ttl {ttl} is not allowed: a code lives 1 to {max} minutes",
    "--ttl {ttl} 无效：注册码有效期须为 1 到 {max} 分钟",
)
CODE_MADE = Text(
    "enrolment code for store {store}{kiosk} printed on stdout (QR above). It works once, until "
    "{expires} UTC ({minutes} min). On the kiosk: `kiosk enroll CODE --hq URL`, or scan the QR",
    "门店 {store}{kiosk} 的注册码已输出到标准输出（二维码见上）。仅可使用一次，有效期至 {expires} UTC"
    "（{minutes} 分钟）。在收银机上运行 `kiosk enroll 注册码 --hq 地址`，或扫描二维码",
)
CODE_FOR_KIOSK = Text(", kiosk {kiosk_id}", "、收银机 {kiosk_id}")
DEVICE_REVOKED = Text(
    "kiosk {kiosk_id} revoked: its next request to HQ is refused. To bring it back, enrol it again "
    "with a new code (`hq device enroll-code --store STORE --kiosk-id {kiosk_id}`)",
    "收银机 {kiosk_id} 已吊销：它的下一个请求将被 HQ 拒绝。如需恢复，请用新的注册码重新注册"
    "（`hq device enroll-code --store 门店 --kiosk-id {kiosk_id}`）",
)
NO_KIOSKS = Text(
    "no kiosks yet; make an enrolment code with `hq device enroll-code --store STORE`",
    "还没有收银机；用 `hq device enroll-code --store 门店` 生成注册码",
)
KIOSK_LIST_HEADER = Text(
    "kiosk_id  store  enrolled_at (UTC)  revoked_at (UTC)  last_seen_at (UTC)",
    "收银机编号  门店  注册时间（UTC）  吊销时间（UTC）  最近连接（UTC）",
)
ADMIN_ADDED = Text("admin {name} added", "已添加管理员 {name}")
ADMIN_EXISTS = Text(
    "an admin named {name} exists already; pick another name (`hq admin list`)",
    "管理员 {name} 已存在；请换一个名称（`hq admin list`）",
)
ADMIN_UNKNOWN = Text(
    "HQ has no admin named {name}; `hq admin list` shows them",
    "HQ 中没有名为 {name} 的管理员；`hq admin list` 可查看",
)
ADMIN_DISABLED = Text(
    "admin {name} disabled: they cannot sign in, and their sessions have ended",
    "管理员 {name} 已停用：无法登录，其会话已全部结束",
)
BAD_ADMIN_NAME = Text(
    "admin name {name!r} is not allowed: use 1-64 letters, digits, '.', '_', '@' or '-'",
    "管理员名称 {name!r} 无效：只能用 1-64 个字母、数字、'.'、'_'、'@' 或 '-'",
)
BAD_PASSWORD = Text(
    "a password has {min} to {max} characters; choose a longer one (a passphrase of a few words is good)",
    "密码须为 {min} 到 {max} 个字符；请设置更长的密码（几个单词组成的短语即可）",
)
PASSWORD_PROMPT = Text("Password for {name}: ", "{name} 的密码：")
PASSWORD_AGAIN = Text("The same password again: ", "请再次输入密码：")
PASSWORDS_DIFFER = Text(
    "the two passwords differ; nothing was changed, run the command again",
    "两次输入的密码不一致；未做任何更改，请重新运行命令",
)
PASSWORD_NO_TTY = Text(
    "no terminal to ask for the password; pipe it in with --password-stdin",
    "没有可输入密码的终端；请用 --password-stdin 从标准输入传入密码",
)
NO_ADMINS = Text(
    "no admins yet; add one with `hq admin add NAME`", "还没有管理员；用 `hq admin add 名称` 添加"
)
ADMIN_HEADER = Text("name  created_at (UTC)  disabled_at (UTC)", "名称  创建时间（UTC）  停用时间（UTC）")
FLEET_HEADER = Text(
    "kiosk_id  store  version  last heartbeat  outbox  alerts",
    "收银机编号  门店  版本  最近心跳  待发送  告警",
)
FLEET_REVOKED = Text("revoked", "已吊销")
FLEET_OK = Text("ok", "正常")
AGO = Text("{age} ago", "{age}前")
ALERT_NEVER_HEARD = Text("no heartbeat received yet", "尚未收到心跳")
ALERT_SILENT = Text("no heartbeat for {minutes} min", "已 {minutes} 分钟无心跳")
ALERT_PAPER_OUT = Text("printer out of paper", "打印机缺纸")
ALERT_COVER_OPEN = Text("printer cover open", "打印机盖未关")
ALERT_CAMERA_FAILED = Text("camera failed", "摄像头故障")
ALERT_DISK_LOW = Text("disk low ({mb} MB free)", "磁盘空间不足（剩余 {mb} MB）")
ALERT_CLOCK_SKEW = Text("clock off by {seconds} s", "时钟偏差 {seconds} 秒")
ALERT_PARKED = Text("{count} event(s) parked (refused by HQ)", "{count} 个事件被 HQ 拒收并搁置")
BAD_HEARTBEAT_S = Text(
    "--heartbeat-s {value} is not allowed: give the kiosks' [hq] heartbeat_s, at least 1",
    "--heartbeat-s {value} 无效：请填收银机的 [hq] heartbeat_s，至少为 1",
)


# --- operations: readiness, receipts, serving (infra) ----------------------------------------------

NOT_READY_DATABASE = Text(
    "HQ's database does not answer; check that the database server is running and reachable, and "
    "HQ's log for the reason",
    "HQ 的数据库无响应；请检查数据库服务是否运行、网络是否可达，并查看 HQ 日志中的原因",
)
NOT_READY_SCHEMA = Text(
    "HQ's database is at schema version {found}, but this HQ needs {expected}; restart HQ so it "
    "applies its migrations, or upgrade HQ if the database is newer",
    "HQ 数据库的结构版本为 {found}，本 HQ 需要 {expected}；请重启 HQ 以执行迁移，若数据库更新则请升级 HQ",
)
WORKERS_SQLITE = Text(
    "note: {workers} workers share one SQLite file; writers take turns. For a fleet use PostgreSQL",
    "提示：{workers} 个工作进程共用一个 SQLite 文件，写入须轮流进行；门店较多时请使用 PostgreSQL",
)
OPENAPI_WRITTEN = Text("wrote the OpenAPI document to {path}", "已将 OpenAPI 文档写入 {path}")
OPENAPI_UNWRITABLE = Text("cannot write {path} ({reason})", "无法写入 {path}（{reason}）")

# e-receipt page (hq.receipts)
RECEIPT_TITLE = Text("E-receipt", "电子小票")
RECEIPT_ORDER = Text("Order no.", "订单号")
RECEIPT_TIME = Text("Paid at", "支付时间")
RECEIPT_ITEM = Text("Item", "商品")
RECEIPT_QTY = Text("Qty", "数量")
RECEIPT_AMOUNT = Text("Amount", "金额")
RECEIPT_TOTAL = Text("Total", "合计")
RECEIPT_PAID_BY = Text("Paid by", "支付方式")
RECEIPT_REFUNDED = Text("Refunded {when}", "已退款 {when}")
RECEIPT_NET = Text("Total after refunds", "退款后合计")
RECEIPT_THANKS = Text("Thank you for shopping with us.", "感谢您的惠顾。")
RECEIPT_CHANNEL_WECHAT = Text("WeChat Pay", "微信支付")
RECEIPT_CHANNEL_ALIPAY = Text("Alipay", "支付宝")
RECEIPT_NOT_FOUND_TITLE = Text("Receipt not found", "未找到小票")
RECEIPT_NOT_FOUND = Text(
    "There is no receipt at this address. Check that the whole address from the receipt's QR code "
    "was opened.",
    "此地址没有小票。请确认打开的是小票二维码中的完整地址。",
)
RECEIPT_NOT_YET = Text(
    "This receipt is not here yet: the kiosk has not sent the sale to HQ. Try again in a minute.",
    "小票尚未送达：收银机还未将这笔交易上传至总部。请一分钟后再试。",
)
RECEIPT_OTHER_LANGUAGE = Text("中文", "English")


# --- sync protocol version ---------------------------------------------------------------------------

PROTOCOL_UNKNOWN = Text(
    "this HQ speaks sync protocol version 1, not {asked!r} (X-Sync-Protocol); update the kiosk or HQ "
    "so both speak the same version. The kiosk keeps selling and queues its sales meanwhile",
    "本 HQ 使用同步协议第 1 版，而非 {asked!r}（X-Sync-Protocol）；请升级收银机或 HQ，使双方版本一致。"
    "在此期间收银机照常销售，销售记录会排队等待上传",
)


# --- staff accounts and badges (hq staff) -------------------------------------------------------------

STAFF_BAD_NAME = Text(
    "{name!r} is not a staff name: use 1-64 letters, digits, '.', '_', '@' or '-'",
    "{name!r} 不是有效的员工名：请使用 1-64 个字母、数字或 '.'、'_'、'@'、'-'",
)
STAFF_BAD_ROLE = Text(
    "{role!r} is not a role: use cashier, manager or it",
    "{role!r} 不是有效角色：请使用 cashier、manager 或 it",
)
STAFF_PIN_DIGITS = Text(
    "a PIN is {min} to {max} digits (0-9) and nothing else; nothing was changed",
    "PIN 须为 {min} 至 {max} 位数字（0-9），不含其他字符；未做任何更改",
)
STAFF_PIN_WEAK = Text(
    "that PIN is too easy to guess (one digit repeated, or a run up or down such as 1-2-3-4-5-6); pick another",
    "该 PIN 过于容易猜到（同一数字重复，或递增递减的连续数字，如 1-2-3-4-5-6）；请换一个",
)
STAFF_PIN_TAKEN = Text(
    "another active staff member has that PIN, and a PIN alone says who unlocks; pick another",
    "另一位在职员工已使用该 PIN，而 PIN 本身即代表解锁人；请换一个",
)
STAFF_EXISTS = Text(
    "a staff member named {name} exists already; pick another name (`hq staff list`)",
    "员工 {name} 已存在；请换一个名称（`hq staff list`）",
)
STAFF_UNKNOWN = Text(
    "no staff member is named {name}; see `hq staff list`", "没有名为 {name} 的员工；请查看 `hq staff list`"
)
STAFF_DISABLED_NO_BADGE = Text(
    "{name} is disabled: no badge is made for a disabled account",
    "{name} 已停用：不为已停用的账号制作工牌",
)
STAFF_UNKNOWN_STORE = Text(
    "no store with the code {store}; add it first (`hq store add`) or see `hq store list`",
    "没有代码为 {store} 的门店；请先添加（`hq store add`）或查看 `hq store list`",
)
STAFF_BAD_TTL = Text(
    "--ttl {ttl} is out of range: a badge is valid 1 to {max} minutes",
    "--ttl {ttl} 超出范围：工牌有效期为 1 至 {max} 分钟",
)
STAFF_ADDED = Text(
    "staff member {name} ({role}) added for {stores}; kiosks get the account at their next catalog pull",
    "已添加员工 {name}（{role}），适用于 {stores}；收银机在下次同步商品目录时获得该账号",
)
STAFF_ALL_STORES = Text("every store", "所有门店")
STAFF_DISABLED = Text(
    "staff member {name} disabled; kiosks refuse the account after their next catalog pull",
    "已停用员工 {name}；收银机在下次同步商品目录后拒绝该账号",
)
STAFF_NONE = Text(
    "no staff accounts yet; add one with `hq staff add`", "尚无员工账号；请用 `hq staff add` 添加"
)
STAFF_HEADER = Text("name  role  stores  created  disabled", "名称  角色  门店  创建时间  停用时间")
STAFF_PIN_PROMPT = Text("PIN for {name} (at least {min} digits): ", "{name} 的 PIN（至少 {min} 位数字）：")
STAFF_PIN_AGAIN = Text("The same PIN again: ", "请再次输入 PIN：")
STAFF_PINS_DIFFER = Text(
    "the two PINs differ; nothing was changed, run the command again",
    "两次输入的 PIN 不一致；未做任何更改，请重新运行命令",
)
STAFF_PIN_NO_TTY = Text(
    "no terminal to ask for the PIN; pipe it in with --pin-stdin",
    "没有可输入 PIN 的终端；请用 --pin-stdin 从标准输入传入 PIN",
)
STAFF_BADGE_MADE = Text(
    "badge for {name} ({role}), valid until {expires} UTC; show the QR code above to a kiosk's camera",
    "已为 {name}（{role}）制作工牌，有效期至 {expires} UTC；请将上方二维码对准收银机摄像头",
)
STAFF_KEY_FILE = Text("cannot use HQ's badge key: {reason}", "无法使用 HQ 的工牌密钥：{reason}")
ALERT_MAINTENANCE_LOCKOUT = Text(
    "maintenance unlock locked out {count} time(s) after repeated wrong PINs since staff last unlocked; "
    "check who is at the kiosk (audit: maintenance.lockout)",
    "维护模式因多次 PIN 错误已锁定 {count} 次（自员工上次解锁以来）；请确认谁在操作该收银机（审计：maintenance.lockout）",
)

# --- staff accounts: PIN reset, role change and the admin API (hq.staff_cli, hq.api_staff) ---------
STAFF_PIN_RESET = Text(
    "new PIN set for {name}; the old one stops working on each kiosk after its next catalog pull",
    "已为 {name} 设置新 PIN；每台收银机在下次同步商品目录后旧 PIN 失效",
)
STAFF_ROLE_SET = Text(
    "{name} is now {role}; kiosks apply it after their next catalog pull",
    "{name} 的角色已改为 {role}；收银机在下次同步商品目录后生效",
)
STAFF_DISABLED_NO_CHANGE = Text(
    "staff member {name} is disabled; add a new account instead",
    "员工 {name} 已停用；请改为添加新账号",
)


# --- OTA releases and rollouts (hq.rollouts, hq.api_ota, hq.ota_cli) -------------------------------------
OTA_BAD_VERSION = Text(
    "version {version!r} is not a release version: start with a digit, then up to 63 letters, digits, "
    "'.', '+', '!' or '-' (e.g. 1.3.0)",
    "版本 {version!r} 不是有效的发布版本：以数字开头，其后最多 63 个字母、数字或 '.'、'+'、'!'、'-'（如 1.3.0）",
)
OTA_BAD_CHANNEL = Text(
    "channel {channel!r} is not 1-32 letters, digits, '.', '_' or '-'",
    "渠道 {channel!r} 应为 1-32 个字母、数字或 '.'、'_'、'-'",
)
OTA_BAD_TARGET = Text(
    "target {target!r} is not a TUF target file name (e.g. kiosk-1.3.0.tar, at most 128 characters, no '/')",
    "目标 {target!r} 不是有效的 TUF 目标文件名（如 kiosk-1.3.0.tar，最多 128 个字符，不含 '/'）",
)
OTA_BAD_SCHEMA = Text(
    "min store schema {schema} is not a store migration number (0 or more)",
    "最低门店数据库版本 {schema} 不是有效的迁移编号（应为 0 或更大）",
)
OTA_RELEASE_EXISTS = Text(
    "release {version} in channel {channel} is registered already as {target} (min store schema "
    "{schema}); publish a new version instead",
    "渠道 {channel} 中的版本 {version} 已登记为 {target}（最低门店数据库版本 {schema}）；请发布新版本",
)
OTA_RELEASE_UNKNOWN = Text(
    "no release {version}{where} is registered; publish it first (ota release publish) or register it "
    "(ota release register)",
    "未登记版本 {version}{where}；请先发布（ota release publish）或登记（ota release register）",
)
OTA_RELEASE_CHANNELS = Text(
    "release {version} is in several channels ({channels}); name one with --channel",
    "版本 {version} 属于多个渠道（{channels}）；请用 --channel 指定",
)
OTA_BAD_STAGES = Text("{reason}", "阶段设置无效：{reason}（例如 1,10,50,100，最后一个必须是 100）")
OTA_BAD_RATE = Text(
    "the failure rate is a fraction from 0 to 1 (0.05 for 5 %), not {rate}",
    "失败率应为 0 到 1 之间的小数（5 % 写作 0.05），而不是 {rate}",
)
OTA_BAD_DEADLINE = Text("a stage deadline is from 1 minute to 90 days", "阶段期限应在 1 分钟到 90 天之间")
OTA_ROLLOUT_ACTIVE = Text(
    "the rollout of {version} is {state}; let it finish or abort it (ota rollout abort {version}) before "
    "starting another",
    "版本 {version} 的推送处于 {state} 状态；请等待其完成或中止（ota rollout abort {version}）后再开始新的推送",
)
OTA_ALREADY_RUNS = Text(
    "release {version} is what the fleet runs already (its rollout finished)",
    "设备群已在运行版本 {version}（其推送已完成）",
)
OTA_NO_ROLLOUT = Text(
    "no rollout was ever started; start one with ota rollout start V",
    "尚未开始任何推送；请用 ota rollout start V 开始",
)
OTA_OTHER_ROLLOUT = Text(
    "the fleet's current rollout is of {current}, not {version}; only that one can change",
    "当前推送的是版本 {current}，不是 {version}；只能更改当前推送",
)
OTA_WRONG_STATE = Text(
    "the rollout of {version} is {state}; it cannot be {action}",
    "版本 {version} 的推送处于 {state} 状态，无法{action_zh}",
)
OTA_UNKNOWN_KIOSK = Text(
    "HQ knows no kiosk {kiosk_id!r}; see hq device list",
    "HQ 中没有收银机 {kiosk_id!r}；请查看 hq device list",
)
OTA_UNKNOWN_STORE = Text(
    "HQ knows no store {store!r}; see hq store list", "HQ 中没有门店 {store!r}；请查看 hq store list"
)
OTA_INVALID_REPORT = Text(
    "the update report is not valid; detail names the field that is wrong (state is one of "
    "downloading, downloaded, installed, waiting_idle, switched, healthy, failed, rolled_back)",
    "更新报告无效；detail 指出错误的字段（state 须为 downloading、downloaded、installed、waiting_idle、"
    "switched、healthy、failed、rolled_back 之一）",
)
OTA_CHECK_NOW_SET = Text(
    "{count} kiosk(s) will check for an update at their next sync (within about a minute while online) "
    "or their next poll",
    "{count} 台收银机将在下次同步（在线时约一分钟内）或下次轮询时检查更新",
)
OTA_RELEASE_REGISTERED = Text(
    "release {version} ({target}) registered in channel {channel}",
    "已在渠道 {channel} 登记版本 {version}（{target}）",
)
OTA_NO_ROLLOUT_YET = Text("no rollout yet", "尚无推送")
OTA_ROLLOUT_LINE = Text(
    "rollout {id} of {version} ({channel}): {state}, stage {stage} of {stages} ({percent} %), "
    "max failure rate {rate}; previous release {previous}",
    "推送 {id}：版本 {version}（{channel}），状态 {state}，第 {stage}/{stages} 阶段（{percent} %），"
    "最大失败率 {rate}；上一版本 {previous}",
)
OTA_ROLLOUT_REASON = Text("  why: {reason}", "  原因：{reason}")
OTA_STAGE_LINE = Text(
    "  stage {stage} ({percent} %){started}: {kiosks} kiosks, {healthy} healthy, {failed} failed, "
    "{pending} waiting",
    "  第 {stage} 阶段（{percent} %）{started}：{kiosks} 台，{healthy} 台正常，{failed} 台失败，{pending} 台等待中",
)
OTA_STAGE_STARTED = Text(", started", "，已开始")
OTA_KIOSKS_HEADER = Text(
    "store  kiosk  version  state  reported  outcome", "门店  收银机  版本  状态  报告时间  结果"
)

# --- enrolment QR payloads (hq device enroll-code --hq-url / --qr-file, POST /admin/enrol-codes) -------
BAD_ENROL_URL = Text(
    "--hq-url {url} cannot go into an enrolment QR: use https://…, or http:// only to 127.0.0.1, "
    "localhost or a LAN address written as a number (e.g. http://192.168.1.20:8080); no code was made",
    "--hq-url {url} 不能放入登记二维码：请用 https://…，或仅对 127.0.0.1、localhost 或局域网数字地址使用 "
    "http://（例如 http://192.168.1.20:8080）；未生成注册码",
)
BAD_QR_FILE = Text("cannot save the QR: {problem}", "无法保存二维码：{problem}")
QR_SAVED = Text("QR saved as {path}", "二维码已保存为 {path}")
ENROL_PAYLOAD = Text(
    "the QR says {payload}: the kiosk's enrolment screen enrols by scanning it",
    "二维码内容为 {payload}：在收银机的登记界面扫描即可登记",
)
ENROL_NO_URL = Text(
    "the QR holds only the code: add --hq-url URL (the address kiosks reach HQ at) for a QR the "
    "kiosk's enrolment screen can scan",
    "二维码只含注册码：加上 --hq-url 地址（收银机访问总部的地址），即可生成收银机登记界面能扫描的二维码",
)
# --- product pictures (hq.pictures, hq catalog image) ---------------------------------------------

PICTURE_REFUSED = Text(
    "picture for {sku} not saved: {reason}",
    "商品 {sku} 的图片未保存：{reason}",
)
PICTURE_NO_PRODUCT = Text(
    "HQ has no product {sku}; import it with hq catalog import first, then set its picture",
    "HQ 中没有商品 {sku}；请先用 hq catalog import 导入，再设置图片",
)
PICTURE_BAD_SKU = Text(
    "{sku!r} cannot name a picture file: a SKU for pictures is 1-64 letters, digits, '.', '_' or '-', "
    "starting with a letter or digit",
    "{sku!r} 不能作为图片文件名：带图片的 SKU 须为 1-64 个字母、数字、'.'、'_' 或 '-'，且以字母或数字开头",
)
PICTURE_NONE = Text(
    "product {sku} has no picture (hq catalog image list shows those that do)",
    "商品 {sku} 没有图片（hq catalog image list 列出有图片的商品）",
)
PICTURE_SET = Text(
    "picture {name} ({width}×{height}, {size} bytes) set for {sku}; kiosks fetch it after their next "
    "catalog pull",
    "已为 {sku} 设置图片 {name}（{width}×{height}，{size} 字节）；收银机在下次同步商品目录后下载",
)
PICTURE_UNCHANGED = Text("{sku} already has this picture; nothing changed", "{sku} 已是这张图片；未作更改")
PICTURE_REMOVED = Text(
    "picture of {sku} removed; kiosks remove the copy they fetched after their next catalog pull",
    "已删除 {sku} 的图片；收银机在下次同步商品目录后删除其下载的副本",
)
PICTURES_NONE = Text("no product has a picture", "没有商品设置了图片")
PICTURE_FILE_UNREADABLE = Text("cannot read {path}: {reason}", "无法读取 {path}：{reason}")
