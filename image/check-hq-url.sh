#!/bin/sh
# check-hq-url.sh URL: exit 0 when URL can be the image's [hq] url, else say why and exit 1.
# build.sh checks --hq-url before its hour of building, install-kiosk.sh again before it writes the
# URL into kiosk.toml. The kiosk's own rule (kiosk/settings.py, _HQ_URL) is http(s)://host[:port][/path];
# this one takes only the characters such a URL needs (letters, digits and . _ ~ : / % + = , -), so
# the URL stands as it is in a TOML string, a sed replacement and the stage's chroot command line,
# and checks its host and port as the kiosk's settings do (no IPv6 literal: name the host).
url=${1-}
case $url in
    http://* | https://*) ;;
    *)
        echo "the HQ url must start with https:// (or http:// for a test HQ): $url" >&2
        exit 1
        ;;
esac
rest=${url#*://}
case $rest in
    '' | /* | *[!A-Za-z0-9._~:/%+=,-]*)
        echo "the HQ url must be http(s)://host[:port][/path] of letters, digits and . _ ~ : / % + = , - only: $url" >&2
        exit 1
        ;;
esac
# one line now (no control characters got through), so grep sees all of it: a host name or IPv4
# address, a port from 1 to 65535 if any, a path if any
hostport=${rest%%/*}
host=${hostport%%:*}
port=${hostport#"$host"}
port=${port#:}
if ! printf '%s\n' "$host" | grep -Eq '^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$'; then
    echo "the HQ url has no host name or address before its port or path: $url" >&2
    exit 1
fi
case $port in
    '') ;;
    *[!0-9]* | 0* | ??????*)
        echo "the HQ url's port must be a number from 1 to 65535: $url" >&2
        exit 1
        ;;
    *)
        if [ "$port" -gt 65535 ]; then
            echo "the HQ url's port must be a number from 1 to 65535: $url" >&2
            exit 1
        fi
        ;;
esac
