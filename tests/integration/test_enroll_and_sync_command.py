"""``kiosk enroll`` and ``kiosk sync --once`` against the real HQ on 127.0.0.1.

Enrolment redeems a one-time code HQ made (``hq.enrolment.make_code``) over HTTP, as an installer
does; sync then signs with the secret it stored.
"""

from __future__ import annotations

import argparse
import io
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hq_fixtures import LiveHq, closed_port, running_hq, sqlite_url

from hq.catalog import seed_demo
from hq.db import connected
from hq.devices import add_store
from hq.enrolment import make_code
from kiosk.commands import enroll, sync
from kiosk.commands.enroll import EnrolFailed, enrol
from kiosk.core.cart import Cart
from kiosk.settings import load_settings
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore
from kiosk.sync.credentials import Credentials, load_credentials, write_credentials

KIOSK = "kiosk-001"


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[LiveHq]:
    with running_hq(sqlite_url(tmp_path / "hq.sqlite3")) as live:
        with connected():
            add_store("s01", "Store one")
            seed_demo()
        yield live


def _code(kiosk_id: str = "") -> str:
    with connected():
        return make_code("s01", kiosk_id).code


def _config(tmp_path: Path, url: str, language: str = "en", kiosk_id: str = KIOSK) -> Path:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(
        f'[kiosk]\nid = "{kiosk_id}"\ndata_dir = "{tmp_path / "data"}"\nlanguage = "{language}"\n'
        f'[hq]\nurl = "{url}"\ntimeout_s = 3\n'
    )
    return cfg


def _enroll(cfg: Path, code: str, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    parser = argparse.ArgumentParser()
    enroll.add_parser(parser.add_subparsers())
    args = parser.parse_args(["enroll", code, "--config", str(cfg), *extra])
    return enroll.run(args, out, err), out.getvalue(), err.getvalue()


def _sync(cfg: Path) -> tuple[int, dict[str, object]]:
    out = io.StringIO()
    parser = argparse.ArgumentParser()
    sync.add_parser(parser.add_subparsers())
    status = sync.run(parser.parse_args(["sync", "--once", "--config", str(cfg)]), out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1, lines
    return status, json.loads(lines[0])


def test_enroll_writes_private_credentials_and_never_shows_the_secret(hq: LiveHq, tmp_path: Path) -> None:
    cfg = _config(tmp_path, hq.url)
    status, out, err = _enroll(cfg, _code())
    assert status == 0, err
    path = tmp_path / "data" / "hq-credentials.json"
    creds = load_credentials(path)
    assert (creds.kiosk_id, creds.store, creds.hq_url) == (KIOSK, "s01", hq.url)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "enrolled: kiosk kiosk-001 in store s01" in out
    assert creds.secret.hex() not in out + err


def test_a_code_works_once_and_an_enrolled_kiosk_is_not_replaced_unless_told(
    hq: LiveHq, tmp_path: Path
) -> None:
    cfg = _config(tmp_path, hq.url)
    code = _code()
    assert _enroll(cfg, code)[0] == 0
    path = tmp_path / "data" / "hq-credentials.json"
    before = path.read_bytes()
    # an existing enrolment is refused BEFORE the new code is spent
    fresh = _code()
    status, _, err = _enroll(cfg, fresh)
    assert status == 1 and "--replace" in err and path.read_bytes() == before
    # the spent code is refused, with the same words as a wrong one; nothing is written
    status, _, err = _enroll(cfg, code, "--replace")
    assert status == 1 and "wrong, already used or expired" in err and path.read_bytes() == before
    # the unspent code still works, with --replace
    assert _enroll(cfg, fresh, "--replace")[0] == 0
    assert path.read_bytes() != before


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "wrong, already used or expired"), ("zh_CN", "登记码无效、已用过或已过期")],
)
def test_a_wrong_code_is_explained_in_the_kiosk_language(
    hq: LiveHq, tmp_path: Path, language: str, expected: str
) -> None:
    cfg = _config(tmp_path, hq.url, language)
    status, _, err = _enroll(cfg, "AAAA-BBBB-CCCC-DDDD")
    assert status == 1 and expected in err
    assert not (tmp_path / "data" / "hq-credentials.json").exists()


def test_unreachable_hq_and_malformed_input_are_explained(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    path = tmp_path / "c.json"
    with pytest.raises(EnrolFailed, match=r"cannot reach HQ at .*Connection refused"):
        enrol("AAAA-BBBB-CCCC-DDDD", url, KIOSK, path, "en")
    with pytest.raises(EnrolFailed, match="16 letters or digits"):
        enrol("12-34", url, KIOSK, path, "en")
    with pytest.raises(EnrolFailed, match="http://"):
        enrol("AAAA-BBBB-CCCC-DDDD", "hq.local", KIOSK, path, "en")
    with pytest.raises(EnrolFailed, match="1-64 letters"):
        enrol("AAAA-BBBB-CCCC-DDDD", url, "bad id!", path, "en")
    assert not path.exists()


def test_a_code_for_another_kiosk_id_is_refused(hq: LiveHq, tmp_path: Path) -> None:
    cfg = _config(tmp_path, hq.url)
    status, _, err = _enroll(cfg, _code("kiosk-777"))
    assert status == 1 and "kiosk-777" in err
    # the same code with the id it names works, and the installer is told to set [kiosk] id
    status, out, _ = _enroll(cfg, _code("kiosk-777"), "--kiosk-id", "kiosk-777")
    assert status == 0 and "[kiosk] id in the settings is kiosk-001; set it to kiosk-777" in out


def test_sync_once_pushes_pulls_and_reports(hq: LiveHq, tmp_path: Path) -> None:
    cfg = _config(tmp_path, hq.url)
    assert _enroll(cfg, _code())[0] == 0
    settings = load_settings(cfg)
    status, first = _sync(cfg)
    assert status == 0 and first["error"] is None and first["pulled"] and first["catalog_version"]
    store = SaleStore(open_store(settings.store_path), KIOSK)  # one store open at a time (models are bound)
    product = store.products()[0]
    order_id = store.open_order(Cart().add(product))
    pay = store.begin_payment(order_id, "wechat", "sim", "134567890123456789")
    store.record_paid(pay.out_trade_no, "4200000001")
    store.db.close()
    status, second = _sync(cfg)
    assert status == 0, second
    assert (second["pushed"], second["pulled"], second["parked"], second["pending"]) == (2, 0, 0, 0)
    assert second["lag_s"] == 0.0 and second["catalog_version"] == first["catalog_version"]
    from hq.models import Sale

    with connected():
        assert Sale.get_by_id(order_id).total_fen == product.price_fen


def test_sync_once_exit_codes(hq: LiveHq, tmp_path: Path) -> None:
    cfg = _config(tmp_path, hq.url)
    status, line = _sync(cfg)  # not enrolled
    assert status == 2 and "not enrolled" in str(line["error"])
    assert _enroll(cfg, _code())[0] == 0
    creds = load_credentials(tmp_path / "data" / "hq-credentials.json")
    # an enrolled kiosk whose HQ is away
    away = f"http://127.0.0.1:{closed_port()}"
    down = tmp_path / "down"
    write_credentials(
        down / "data" / "hq-credentials.json",
        Credentials(KIOSK, "s01", creds.secret, away, creds.enrolled_at),
    )
    status, line = _sync(_config(down, away))
    assert status == 1 and "cannot reach HQ" in str(line["error"])
    # settings that name another HQ than the enrolment's
    status, line = _sync(_config(down, hq.url))
    assert status == 2 and "[hq] url" in str(line["error"])


def test_sync_once_tells_a_revoked_kiosk_to_enrol_again_and_the_sales_go_up_after_it_does(
    hq: LiveHq, tmp_path: Path
) -> None:
    from hq.devices import revoke_device
    from hq.models import Sale

    cfg = _config(tmp_path, hq.url)
    assert _enroll(cfg, _code())[0] == 0
    assert _sync(cfg)[0] == 0
    with connected():
        revoke_device(KIOSK)
    # nothing to push: the catalog pull is what HQ refuses
    status, line = _sync(cfg)
    assert status == 2, line
    assert f"kiosk enroll CODE --hq {hq.url} --replace" in str(line["error"]) and "revoked" in str(
        line["error"]
    )
    # a sale made while revoked: the push is refused, the sale stays in the kiosk's store
    settings = load_settings(cfg)
    store = SaleStore(open_store(settings.store_path), KIOSK)
    order_id = store.open_order(Cart().add(store.products()[0]))
    pay = store.begin_payment(order_id, "wechat", "sim", "134567890123456789")
    store.record_paid(pay.out_trade_no, "4200000002")
    store.db.close()
    status, line = _sync(cfg)
    assert status == 2 and line["pushed"] == 0 and line["pending"] == 2, line
    # in Chinese too
    status, line = _sync(_config(tmp_path, hq.url, language="zh_CN"))
    assert status == 2 and "重新登记" in str(line["error"]) and "--replace" in str(line["error"])
    cfg = _config(tmp_path, hq.url)
    assert _enroll(cfg, _code(), "--replace")[0] == 0
    status, line = _sync(cfg)
    assert status == 0 and line["pushed"] == 2 and line["pending"] == 0, line
    with connected():
        assert Sale.get_by_id(order_id) is not None
