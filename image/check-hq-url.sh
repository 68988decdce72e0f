#!/bin/sh
# check-hq-url.sh URL: exit 0 when URL can be the image's [hq] url, else say why and exit 1.
# build.sh checks --hq-url before its hour of building, install-kiosk.sh again before it writes the
# URL into kiosk.toml. The kiosk's own rule (kiosk/settings.py, _HQ_URL) is http(s)://host[:port][/path];
# this one takes only the characters such a URL needs (letters, digits and . _ ~ : / % @ + = , -),
# so the URL stands as it is in a TOML string, a sed replacement and the stage's chroot command line.
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
    '' | /* | *[!A-Za-z0-9._~:/%@+=,-]*)
        echo "the HQ url must be http(s)://host[:port][/path] of letters, digits and . _ ~ : / % @ + = , - only: $url" >&2
        exit 1
        ;;
esac
