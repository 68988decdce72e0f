#!/bin/sh
# Edit a Raspberry Pi cmdline.txt (one line) for the kiosk, in place; running it twice changes nothing.
#   usage: kiosk-cmdline.sh /boot/firmware/cmdline.txt
# - no console on the screen (console=tty1) and none on the printer's UART (console=serial0,... would
#   print boot messages on receipts and take the port from the printer);
# - quiet boot, Plymouth splash, no penguin logo, no blinking cursor, no console blanking;
# - overlayroot=tmpfs:recurse=0: the root is read-only under a RAM overlay, and recurse=0 keeps the
#   data partition (/data) an ordinary read-write mount;
# - no first-boot root resize, neither bookworm's (init=/usr/lib/raspberrypi-sys-mods/firstboot) nor
#   trixie's (the word "resize", for the initramfs): it would grow the root over the whole card,
#   where the data partition goes (kiosk-storage makes it instead).
set -eu

file=${1:?usage: kiosk-cmdline.sh CMDLINE.TXT}
[ -f "$file" ] || {
    echo "kiosk-cmdline: $file does not exist" >&2
    exit 1
}

set -f # the words of the one line, never globbed
line=""
read -r line <"$file" || [ -n "$line" ]
out=""
for word in $line; do
    case $word in
        console=serial0* | console=ttyAMA0* | console=ttyS0* | console=tty1 | console=tty0) continue ;;
        init=/usr/lib/raspberrypi-sys-mods/firstboot | resize) continue ;;
        quiet | splash | logo.nologo | plymouth.ignore-serial-consoles) continue ;;
        vt.global_cursor_default=* | consoleblank=* | overlayroot=* | loglevel=*) continue ;;
    esac
    out="$out${out:+ }$word"
done
out="$out quiet splash plymouth.ignore-serial-consoles logo.nologo vt.global_cursor_default=0 consoleblank=0 loglevel=3 overlayroot=tmpfs:recurse=0"
printf '%s\n' "$out" >"$file.kiosk-new"
mv -f "$file.kiosk-new" "$file"
