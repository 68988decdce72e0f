#!/bin/sh
# set-it-keys.sh KEYS DEST: install IT's public keys KEYS as the list SSH lets IT in with (DEST:
# /etc/kiosk/it-ssh-keys on the image, 0644, root's when run as root; kiosk-ssh turns SSH on only for
# keys on it). install-kiosk.sh --it-keys runs it; `set-it-keys.sh --check KEYS` only checks (make
# image does, before it builds).
# Windows line ends (CRLF) are made plain: kiosk-ssh takes no key line that ends in \r. Blank lines
# and # comments are kept; every other line must be one OpenSSH public key without options, as
# kiosk-ssh takes them, else the list is refused (exit 1, with the line's number) and DEST is left as
# it was: a line kiosk-ssh would pass over could lock IT out.
set -eu
usage="usage: set-it-keys.sh KEYS DEST, or set-it-keys.sh --check KEYS"
check=0
if [ "${1:-}" = --check ]; then
    check=1
    shift
fi
keys=${1:?$usage}
[ "$check" -eq 1 ] || dest=${2:?$usage}
# the same pattern as kiosk-ssh's
KEY_LINE='^(ssh-ed25519|sk-ssh-ed25519@openssh\.com|ecdsa-sha2-nistp(256|384|521)|sk-ecdsa-sha2-nistp256@openssh\.com|ssh-rsa) [A-Za-z0-9+/]+={0,3}( [^[:cntrl:]]*)?$'

if [ ! -f "$keys" ] || [ ! -r "$keys" ]; then
    echo "cannot read IT's keys $keys" >&2
    exit 1
fi
plain=$(mktemp)
trap 'rm -f "$plain"' EXIT
tr -d '\r' <"$keys" >"$plain"
bad=$(grep -nvE "$KEY_LINE|^[[:space:]]*(#.*)?$" "$plain" | head -n 1 | cut -d : -f 1)
if [ -n "$bad" ]; then
    echo "$keys line $bad is not an OpenSSH public key without options (one a line, e.g. ssh-ed25519 AAAA... it@laptop)" >&2
    exit 1
fi
count=$(grep -cE "$KEY_LINE" "$plain" || true)
if [ "$count" -eq 0 ]; then
    echo "$keys holds no OpenSSH public key (one a line, e.g. ssh-ed25519 AAAA... it@laptop)" >&2
    exit 1
fi
[ "$check" -eq 0 ] || exit 0
install -m 0644 "$plain" "$dest"
echo "IT's SSH allow-list: $dest ($count key(s))"
