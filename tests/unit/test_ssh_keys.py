"""kiosk.maintenance.ssh_keys: which public keys IT may turn SSH on with, checked by decoding them.

Keys are made here with ``cryptography`` (real keys, real OpenSSH encoding); fingerprints are
checked against ``ssh-keygen -l`` where it is installed (tests/integration/test_staff_ssh.py)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from kiosk.maintenance.ssh_keys import (
    MAX_KEYS,
    KeyFileError,
    Request,
    allow_list,
    key_file_text,
    on_list,
    parse_key_file,
    parse_key_line,
    parse_request,
    request_text,
)


def openssh(public: object) -> str:
    return public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode(
        "ascii"
    )


def ed() -> str:
    return openssh(ed25519.Ed25519PrivateKey.generate().public_key())


def ecdsa(curve: ec.EllipticCurve) -> str:
    return openssh(ec.generate_private_key(curve).public_key())


def rsa_key(bits: int) -> str:
    return openssh(rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key())


RSA_3072 = rsa_key(3072)
RSA_2048 = rsa_key(2048)


@pytest.mark.parametrize(
    ("line", "kind", "bits"),
    [
        (ed() + " it@laptop", "ssh-ed25519", 256),
        (ecdsa(ec.SECP256R1()), "ecdsa-sha2-nistp256", 256),
        (ecdsa(ec.SECP384R1()), "ecdsa-sha2-nistp384", 384),
        (ecdsa(ec.SECP521R1()) + " ops", "ecdsa-sha2-nistp521", 521),
        (RSA_3072 + " it@hq", "ssh-rsa", 3072),
    ],
    ids=[
        "ed25519",
        "nistp256",
        "nistp384",
        "nistp521",
        "rsa3072",
    ],  # the keys are random: xdist needs fixed ids
)
def test_good_keys_are_taken_with_their_type_and_size(line: str, kind: str, bits: int) -> None:
    key = parse_key_line(line)
    assert (key.kind, key.bits) == (kind, bits)
    assert key.line() == line  # written back exactly as given
    assert key.fingerprint.startswith("SHA256:") and len(key.fingerprint) == 7 + 43
    assert key.blob not in key.label()  # the label names the key by fingerprint only


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('command="/bin/sh" ' + ed(), "options"),
        ('from="10.0.0.0/8" ' + ed(), "options"),
        ("no-pty " + ed(), "options"),
        ("restrict " + ed(), "options"),
        (RSA_2048, "rsa_short"),
        ("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "type"),
        ("sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t", "type"),
        ("password123", "not_a_key"),
        ("ssh-ed25519", "damaged"),
        ("ssh-ed25519 not*base64", "damaged"),
        ("ssh-ed25519 " + ed().split()[1][:-8], "damaged"),  # cut short
        ("ssh-rsa " + ed().split()[1], "type_mismatch"),  # an ed25519 key named rsa
        (ed() + " it@laptop\x1b[2J", "comment"),
        (ed() + " " + "x" * 101, "comment"),
    ],
    ids=lambda v: None if isinstance(v, str) and " " not in v else "",
)
def test_bad_lines_are_refused_with_the_reason(line: str, reason: str) -> None:
    with pytest.raises(KeyFileError) as caught:
        parse_key_line(line, 7)
    assert caught.value.reason == reason
    assert caught.value.line == 7


def test_a_short_rsa_key_says_how_many_bits_it_has() -> None:
    with pytest.raises(KeyFileError) as caught:
        parse_key_line(RSA_2048)
    assert caught.value.fields == {"bits": "2048", "least": 3072}


def test_an_ed25519_key_with_trailing_bytes_is_damaged() -> None:
    kind, blob = ed().split()[:2]
    longer = base64.b64encode(base64.b64decode(blob) + b"\x00").decode("ascii")
    with pytest.raises(KeyFileError) as caught:
        parse_key_line(f"{kind} {longer}")
    assert caught.value.reason == "damaged"


def test_a_file_skips_blank_and_comment_lines_and_keeps_the_order() -> None:
    a, b = ed() + " a", RSA_3072 + " b"
    keys = parse_key_file(f"# IT on call\n\n{a}\n  {b}  \n")
    assert [k.comment for k in keys] == ["a", "b"]
    assert key_file_text(keys) == f"{a}\n{b}\n"


def test_one_bad_line_refuses_the_whole_file_and_names_the_line() -> None:
    with pytest.raises(KeyFileError) as caught:
        parse_key_file(f'{ed()}\n# note\ncommand="x" {ed()}\n')
    assert (caught.value.line, caught.value.reason) == (3, "options")


def test_a_file_without_keys_too_many_keys_or_a_key_twice_is_refused() -> None:
    with pytest.raises(KeyFileError) as none:
        parse_key_file("# nothing\n\n")
    assert none.value.reason == "no_key"
    with pytest.raises(KeyFileError) as many:
        parse_key_file("\n".join(ed() for _ in range(MAX_KEYS + 1)))
    assert (many.value.reason, many.value.line) == ("too_many", MAX_KEYS + 1)
    assert len(parse_key_file("\n".join(ed() for _ in range(MAX_KEYS)))) == MAX_KEYS
    same = ed()
    with pytest.raises(KeyFileError) as twice:
        parse_key_file(f"{same} one\n{same} two\n")
    assert (twice.value.reason, twice.value.line) == ("twice", 2)


def test_a_huge_file_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(KeyFileError) as caught:
        parse_key_file(ed() + "\n" + "#" * 70_000)
    assert caught.value.reason == "too_big"


def test_the_request_file_round_trips_and_expires() -> None:
    until = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    assert request_text(until) == f"on\nuntil={int(until.timestamp())}\n"
    request = parse_request(request_text(until))
    assert request == Request(True, until)
    assert request.in_force(datetime(2026, 12, 2, 14, 59, tzinfo=UTC))
    assert not request.in_force(until)
    assert parse_request("off\n") == Request(False)
    assert parse_request("") == Request(False)
    assert parse_request("on\n").in_force(until)  # by hand, no limit written: kiosk-ssh applies its own


def test_its_list_is_read_as_kiosk_ssh_reads_it_type_and_base64_whatever_the_comment() -> None:
    """kiosk-ssh (image/rootfs/usr/local/sbin/kiosk-ssh, KEY_LINE) removes every CR, takes each line
    that is one key without options, and compares type and base64: so does ``allow_list``."""
    a, b, c, d = ed(), ed(), ed(), ed()
    text = (
        "# IT's keys\r\n"
        f"{a} zhao@desk\r\n"  # Windows line ends
        f"{RSA_3072}\n"  # no comment
        f'command="/bin/sh" {b}\n'  # options: kiosk-ssh passes the line over
        f"  {c}\n"  # leading blanks: so does it
        f"{d} bell\x07\n"  # a control character in the comment: and this
        "\n"
    )
    listed = allow_list(text)
    assert listed == {tuple(a.split()), tuple(RSA_3072.split())}
    assert on_list(parse_key_line(a + " zhao@laptop"), listed)  # the comment does not matter
    assert on_list(parse_key_line(RSA_3072), listed)
    for other in (b, c, d):
        assert not on_list(parse_key_line(other), listed)
    assert allow_list("") == frozenset()
