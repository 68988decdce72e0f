#!/bin/sh
# set-hq-url.sh TOML URL: write URL as the [hq] url of the settings file TOML, when TOML still holds
# the template's placeholder (https://hq.example.com). install-kiosk.sh --hq-url runs it, so an image
# built with make image IMAGE_ARGS="--hq-url ..." enrols at first boot with nothing to edit.
# A url someone already set is kept: settings are never overwritten. The file keeps its mode and
# owner (sed -i as root does; install-kiosk.sh sets them again). Exit 1 with the reason when URL is
# not one check-hq-url.sh allows or TOML cannot be read; the file is then left as it was.
set -eu
toml=${1:?usage: set-hq-url.sh TOML URL}
url=${2:?usage: set-hq-url.sh TOML URL}
sh "$(dirname "$0")/check-hq-url.sh" "$url"
[ -r "$toml" ] || {
    echo "cannot read the settings file $toml" >&2
    exit 1
}
placeholder='url = "https://hq.example.com"'
if grep -q "^$placeholder" "$toml"; then
    # check-hq-url.sh let through no character that is special to sed's replacement or to TOML
    sed -i "s|^$placeholder|url = \"$url\"|" "$toml"
    echo "HQ: [hq] url = \"$url\" in $toml"
else
    echo "kept [hq] url in $toml (set already); --hq-url $url not applied"
fi
