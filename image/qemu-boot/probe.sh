#!/bin/sh
# make image-boot's probe: runs inside the booted kiosk (kiosk-boot-probe.service, root) and reports
# what the booted system does, one line at a time, on the virtio port the host reads
# (image/qemu-boot/drive.py). It is installed only into make image-boot's copy of the root, never
# into an image.
#
# Lines: "boot N", "check NAME ok|FAIL DETAIL", "figure NAME VALUE", "screen NAME" (the host saves
# the screen as NAME.png), "info TEXT", and last "next reboot" or "next poweroff".
#
# Boot 1 (the first boot): the data partition, the binds, the read-only root, the kiosk up
# (Type=notify), the lock-down, then a hung kiosk (SIGSTOP) that the notify watchdog must restart;
# then it leaves marks on the data partition and on the root's RAM overlay and starts the OS's
# security update (kiosk-os-update.service, against run.sh's stand-in for Debian's security
# archive), whose reboot after the kiosk holds starts boot 2 (the probe reboots itself otherwise).
# Boot 2: the marks (the data partition kept, the overlay gone), the journal of boot 1 still there,
# the first boot not run again, the update installed on the read-only root; then it powers off.
set -u

PORT=${PROBE_PORT:-/dev/virtio-ports/kiosk.probe}
MARK=/data/boot-probe
WAIT_KIOSK_S=${PROBE_WAIT_KIOSK_S:-1200}
WAIT_RESTART_S=${PROBE_WAIT_RESTART_S:-900}
UPDATE_PACKAGE=kiosk-boot-probe-update

say() {
    printf '%s\n' "$*" >"$PORT"
    printf '%s\n' "probe: $*"
}

check() { # check NAME CONDITION-EXIT-STATUS DETAIL
    if [ "$2" -eq 0 ]; then
        say "check $1 ok $3"
    else
        say "check $1 FAIL $3"
    fi
}

uptime_s() {
    cut -d' ' -f1 /proc/uptime
}

# kiosk.service active: the app sent READY=1 (Type=notify), which it does once its screen is drawn
wait_active() { # wait_active SECONDS -> 0 once kiosk.service is active
    n=0
    while [ "$n" -lt "$1" ]; do
        [ "$(systemctl is-active kiosk.service)" = active ] && return 0
        sleep 2
        n=$((n + 2))
    done
    return 1
}

prop() { # prop UNIT PROPERTY
    systemctl show -p "$2" --value "$1"
}

update_version() { # the installed version of run.sh's stand-in security update
    dpkg-query -W -f='${Version}' "$UPDATE_PACKAGE" 2>/dev/null
}

if [ -f "$MARK" ]; then BOOT=2; else BOOT=1; fi
say "boot $BOOT"
say "info kernel $(uname -r), $(systemctl --version | head -n 1)"

# --- storage: the data partition (made by kiosk-storage on boot 1), its binds, the read-only root
findmnt -n -o FSTYPE / | grep -qx overlay
check root-overlay $? "/ is $(findmnt -n -o FSTYPE,SOURCE / | tr -s ' ')"
lower=$(findmnt -n -o OPTIONS /media/root-ro 2>/dev/null)
case ",$lower," in *,ro,*) ok=0 ;; *) ok=1 ;; esac
check root-read-only "$ok" "/media/root-ro: ${lower:-not mounted}"
data=$(findmnt -n -o SOURCE,FSTYPE,OPTIONS /data)
data_dev=$(findmnt -n -o SOURCE /data)
# kiosk-storage marks the partition finished (Linux, 0x83) once its file system is complete
data_type=$(blkid -p -o value -s PART_ENTRY_TYPE "$data_dev" 2>/dev/null)
case "$data $data_type" in *ext4*data=journal*" 0x83") ok=0 ;; *) ok=1 ;; esac
check data-partition "$ok" "/data: ${data:-not mounted}, partition type ${data_type:-unknown}"
for d in /opt/kiosk /var/lib/kiosk /etc/kiosk /var/log/journal /var/lib/systemd/timesync; do
    src=$(findmnt -n -o SOURCE "$d")
    case $src in "$data_dev"\[*) ok=0 ;; *) ok=1 ;; esac
    check "bind:$d" "$ok" "${src:-not mounted}"
done
# the data partition's fsck (fstab pass 2) starts only once kiosk-storage has done with the partition:
# side by side, the one or the other failed ("in use", "already mounted") and the boot with it
fsck_unit='systemd-fsck@dev-disk-by\x2dlabel-KIOSKDATA.service'
storage_done=$(prop kiosk-storage.service ExecMainExitTimestampMonotonic)
fsck_start=$(prop "$fsck_unit" ExecMainStartTimestampMonotonic)
[ "${storage_done:-0}" -gt 0 ] && [ "${fsck_start:-0}" -ge "$storage_done" ]
check fsck-after-storage $? "kiosk-storage done at ${storage_done:-?} us, the fsck of /data started at ${fsck_start:-?} us"
disk=/dev/$(lsblk -ndo PKNAME "$data_dev" 2>/dev/null)
parts=$(lsblk -lno TYPE "$disk" 2>/dev/null | grep -c part)
[ "$parts" -eq 3 ]
check partitions $? "$disk has $parts partitions"

# --- first boot: the kiosk's id and its store
id=$(sed -n 's/^id = "\(.*\)".*/\1/p' /etc/kiosk/kiosk.toml | head -n 1)
case $id in kiosk-?*) ok=0 ;; *) ok=1 ;; esac
check kiosk-id "$ok" "id = $id"
# root's to change, the kiosk's to read (on the data partition's copy too): kiosk firewall-hosts
# lets the hosts they name through only then (kiosk-firewall fails otherwise: no-unit-failed)
settings=$(stat -c '%a %U %G' /etc/kiosk/kiosk.toml 2>&1)
[ "$settings" = "640 root kiosk" ]
check settings-root-owned $? "/etc/kiosk/kiosk.toml: $settings"
# the marker is root's, at the top of /data (not in the kiosk user's /var/lib/kiosk, no longer written)
first_mark=$(stat -c '%U %F' /data/.first-boot-done 2>/dev/null)
[ "$first_mark" = "root regular empty file" ] && [ ! -e /var/lib/kiosk/.first-boot-done ] &&
    [ ! -L /var/lib/kiosk/.first-boot-done ]
check first-boot-done $? "/data/.first-boot-done: ${first_mark:-missing}; /var/lib/kiosk/.first-boot-done: $(stat -c %F /var/lib/kiosk/.first-boot-done 2>/dev/null || echo none)"
if [ "$BOOT" -eq 2 ]; then
    [ "$(prop kiosk-firstboot.service ConditionResult)" = no ]
    check first-boot-once $? "kiosk-firstboot on boot 2: ConditionResult=$(prop kiosk-firstboot.service ConditionResult)"
fi

# --- the hand-over from the splash: the app runs (plymouth deactivated by ExecStartPre) and has
# not sent READY=1; the screen is saved for the record (what shows then is a matter of timing)
n=0
while [ "$n" -lt "$WAIT_KIOSK_S" ]; do
    sub=$(prop kiosk.service SubState)
    case $sub in
        start)
            say "screen boot$BOOT-handover"
            break
            ;;
        running)
            say "info the kiosk was ready before the probe saw its start: no hand-over screen"
            break
            ;;
        failed | auto-restart)
            say "info kiosk.service is $sub before the hand-over: no hand-over screen"
            break
            ;;
    esac
    sleep 1
    n=$((n + 1))
done

# --- the kiosk: Type=notify, so active means READY=1 came (one time budget with the wait above)
if wait_active "$((WAIT_KIOSK_S - n))"; then
    ready=$(prop kiosk.service ActiveEnterTimestampMonotonic)
    say "figure boot${BOOT}-kiosk-ready-s $(awk -v u="$ready" 'BEGIN { printf "%.1f", u / 1e6 }')"
    check kiosk-ready 0 "active after READY=1, pid $(prop kiosk.service MainPID), $(prop kiosk.service NRestarts) restarts"
    # the screen as the kiosk drew it, and again later (llvmpipe draws slowly under emulation)
    say "screen boot$BOOT"
    sleep 30
    say "screen boot$BOOT-30s"
else
    check kiosk-ready 1 "kiosk.service is $(systemctl is-active kiosk.service) after ${WAIT_KIOSK_S} s ($(prop kiosk.service NRestarts) restarts): $(journalctl -b -u kiosk.service -n 5 --no-pager -q -o cat | tr '\n' '|')"
fi
[ "$(prop kiosk.service WatchdogUSec)" = 30s ] || [ "$(prop kiosk.service WatchdogUSec)" = 30000000 ]
check notify-watchdog-set $? "WatchdogUSec=$(prop kiosk.service WatchdogUSec)"

# --- lock-down
state=$(systemctl is-active ssh.service)
[ "$state" != active ]
check ssh-off $? "ssh.service $state"
state=$(systemctl is-active getty@tty1.service)
[ "$state" != active ]
check no-getty-on-screen $? "getty@tty1 $state"
[ "$(cat /proc/sys/kernel/sysrq)" = 0 ]
check sysrq-off $? "kernel.sysrq=$(cat /proc/sys/kernel/sysrq)"
# kiosk-lockdown ran after console-setup's keymap and left no key, in any plane, that switches VTs
keymap=$(dumpkeys 2>&1)
switching=$(printf '%s\n' "$keymap" | grep -cE '\b(Console_[0-9]+|Incr_Console|Decr_Console|Last_Console)\b')
case $keymap in *keycode*) [ "$switching" -eq 0 ] ;; *) false ;; esac
check no-vt-switch-keys $? "dumpkeys: $switching lines with Console_N, Incr/Decr/Last_Console; $(printf '%s\n' "$keymap" | grep -c keycode) keycode lines"
policy=$(nft list chain inet kiosk output 2>&1 | sed -n 's/.*policy \([a-z]*\);.*/\1/p')
[ "$policy" = drop ]
check firewall $? "inet kiosk output policy ${policy:-missing}"
failed=$(systemctl --failed --plain --no-legend | awk '{ print $1 }' | tr '\n' ' ')
[ -z "$failed" ]
check no-unit-failed $? "failed units: ${failed:-none}"

# --- the hardware watchdog: systemd pets it (RuntimeWatchdogSec); here a PCI i6300esb stands for bcm2835
rw=$(systemctl show -p RuntimeWatchdogUSec --value)
rbw=$(systemctl show -p RebootWatchdogUSec --value)
[ -e /dev/watchdog0 ] && [ "$rw" = 15s ] && [ "$rbw" = 15s ]
check hardware-watchdog $? "/dev/watchdog0 $([ -e /dev/watchdog0 ] && echo present || echo missing), RuntimeWatchdogUSec=$rw, RebootWatchdogUSec=$rbw"

# --- logs on the data partition, kept across the reboot
boots=$(journalctl --list-boots --no-pager -q 2>/dev/null | wc -l)
if [ "$BOOT" -eq 2 ]; then
    [ "$boots" -ge 2 ]
    check journal-survives-reboot $? "journalctl --list-boots: $boots boots"
    prev=$(journalctl -b -1 -u kiosk.service --no-pager -q -o cat 2>/dev/null | wc -l)
    [ "$prev" -gt 0 ]
    check journal-of-boot-1 $? "$prev lines of kiosk.service from boot 1"
    [ "$(sed -n 1p "$MARK")" = "$id" ]
    check data-kept "$?" "$MARK says $(sed -n 1p "$MARK"), this boot's id is $id"
    [ "$(sed -n 2p "$MARK")" = "$(cat /etc/machine-id)" ]
    check machine-id-kept $? "boot 1: $(sed -n 2p "$MARK"), boot 2: $(cat /etc/machine-id)"
    # timesyncd's record, kept on the data partition: boot 1 left it an hour ahead of its clock;
    # qemu's clock now is minutes after boot 1's, so only the kept record, read by this boot's
    # timesyncd, puts the clock at or past it
    ahead=$(sed -n 3p "$MARK")
    now=$(date +%s)
    bumped=$(journalctl -b -u systemd-timesyncd.service --no-pager -q -o cat | grep -m 1 'advanced to recorded timestamp')
    [ -n "$ahead" ] && [ "$now" -ge "$ahead" ] && [ -n "$bumped" ]
    check clock-from-record $? "clock $now, boot 1's record ${ahead:-missing}; timesyncd: ${bumped:-said nothing of its record}"
    [ ! -e /probe-root-write ]
    check overlay-discarded $? "/probe-root-write $([ -e /probe-root-write ] && echo survived || echo gone)"
    # the OS update of boot 1: installed into the read-only root, through the reboot it asked for
    version=$(update_version)
    [ "$version" = 2.0 ]
    check os-update-installed $? "$UPDATE_PACKAGE ${version:-missing} (1.0 before kiosk-os-update, 2.0 offered)"
    lower=$(awk -v p="$UPDATE_PACKAGE" '$1 == "Package:" { on = ($2 == p) } on && $1 == "Version:" { print $2; exit }' \
        /media/root-ro/var/lib/dpkg/status 2>/dev/null)
    [ "$lower" = 2.0 ]
    check os-update-on-read-only-root $? "/media/root-ro/var/lib/dpkg/status: $UPDATE_PACKAGE ${lower:-missing}"
    # what the update's maintainer script wrote to /boot/firmware reached the boot partition (bound
    # into the upgrade's chroot), not the root's own empty folder, and it saw udev's /dev with its
    # pseudo-terminals and /dev/shm, while the host's /dev/pts kept its one mount
    fw=$(cat "/boot/firmware/$UPDATE_PACKAGE" 2>/dev/null)
    if [ -e "/media/root-ro/boot/firmware/$UPDATE_PACKAGE" ]; then beside=present; else beside=absent; fi
    case $fw in *" dev=udev pts=devpts shm=tmpfs host_pts=1") [ "$beside" = absent ] ;; *) false ;; esac
    check os-update-boot-partition $? "/boot/firmware/$UPDATE_PACKAGE: ${fw:-missing}; in the root's own /boot/firmware folder: $beside"
    said=$(journalctl -b -1 -u kiosk-os-update.service --no-pager -q -o cat 2>/dev/null)
    printf '%s\n' "$said" | grep -q 'the kiosk is idle and holds; rebooting'
    check os-update-reboot-after-hold $? "boot 1's kiosk-os-update: $(printf '%s\n' "$said" | tail -n 4 | tr '\n' '|')"
    # the lower root read-only again after the upgrade, by overlayroot-chroot or by kiosk-os-update's
    # second try (it says when both failed)
    if printf '%s\n' "$said" | grep -q 'stays writable until the reboot'; then ok=1; else ok=0; fi
    check os-update-root-read-only-again "$ok" "boot 1's kiosk-os-update: $(printf '%s\n' "$said" | grep -E 'read-only again|stays writable|busy' | tail -n 2 | tr '\n' '|')"
    say "next poweroff"
    systemctl poweroff
    exit 0
fi

# --- boot 1: a hung main loop stops sending WATCHDOG=1; systemd must kill and restart the kiosk
pid=$(prop kiosk.service MainPID)
before=$(prop kiosk.service NRestarts)
if [ "$pid" -gt 0 ] 2>/dev/null; then
    t0=$(uptime_s)
    kill -STOP "$pid"
    n=0
    while [ "$n" -lt "$WAIT_RESTART_S" ]; do
        now=$(prop kiosk.service NRestarts)
        if [ "$now" -gt "$before" ] && [ "$(systemctl is-active kiosk.service)" = active ]; then
            break
        fi
        sleep 2
        n=$((n + 2))
    done
    t1=$(uptime_s)
    said=$(journalctl -b -u kiosk.service --no-pager -q -o cat | grep -c -i 'watchdog timeout')
    new=$(prop kiosk.service MainPID)
    [ "$said" -gt 0 ] && [ "$new" != "$pid" ] && [ "$(systemctl is-active kiosk.service)" = active ]
    check watchdog-restarts-hung-kiosk $? "pid $pid stopped; systemd logged $said watchdog timeout(s); now pid $new, $(prop kiosk.service NRestarts) restarts"
    say "figure hung-to-ready-again-s $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
else
    check watchdog-restarts-hung-kiosk 1 "kiosk.service has no main process to stop"
fi

# timesyncd's record of the time (its file's mtime): timesyncd writes the current time there every
# minute and when it stops, so it is stopped first; then the record is left an hour ahead of the
# clock, as a Pi's clock is behind its record after any reboot. Boot 2's timesyncd must set the
# clock forward to it (clock-from-record). The clock is still marked synced below (the flag file).
systemctl is-active --quiet systemd-timesyncd.service
check timesyncd-running $? "systemd-timesyncd.service $(systemctl is-active systemd-timesyncd.service), record $(stat -c '%U %y' /var/lib/systemd/timesync/clock 2>&1)"
systemctl stop systemd-timesyncd.service
ahead=$(($(date +%s) + 3600))
touch -d "@$ahead" /var/lib/systemd/timesync/clock
printf '%s\n%s\n%s\n' "$id" "$(cat /etc/machine-id)" "$ahead" >"$MARK"
sync -f "$MARK" /var/lib/systemd/timesync/clock
touch /probe-root-write

# --- the OS's security update: kiosk-os-update waits for time-sync.target (there is no NTP here:
# the clock, from qemu's RTC, is marked synchronised as systemd-timesyncd would), upgrades the
# read-only root through overlayroot-chroot, asks the kiosk to hold, and reboots
say "info $UPDATE_PACKAGE $(update_version) before kiosk-os-update"
mkdir -p /run/systemd/timesync
touch /run/systemd/timesync/synchronized
# the update agent starts once the clock is synced (After=time-sync.target). This image has no TUF
# root: the agent says so and waits, which it does only once past its own checks (it refuses to run
# with a folder or trusted root another user than root could change, ota/kiosk_files.py)
n=0
until journalctl -b -u kiosk-ota.service -o cat -q | grep -q "no trusted TUF root" || [ "$n" -ge 300 ]; do
    sleep 2
    n=$((n + 2))
done
ota_said=$(journalctl -b -u kiosk-ota.service -o cat -q | tail -n 1)
ota_state=$(prop kiosk-ota.service ActiveState)/$(prop kiosk-ota.service SubState)
ota_restarts=$(prop kiosk-ota.service NRestarts)
[ "$ota_state" = active/running ] && [ "$ota_restarts" = 0 ] && case $ota_said in *"no trusted TUF root"*) true ;; *) false ;; esac
check ota-agent $? "kiosk-ota.service $ota_state, $ota_restarts restart(s): ${ota_said:-nothing logged}"
say "next reboot"
t0=$(uptime_s)
systemctl start kiosk-os-update.service
# its reboot is under way once the system is stopping (this probe is stopped with it)
n=0
while [ "$n" -lt 120 ]; do
    [ "$(systemctl is-system-running)" = stopping ] && sleep 600
    sleep 2
    n=$((n + 2))
done
check os-update-reboots 1 "kiosk-os-update ended after $(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.0f", b - a }') s without a reboot ($(systemctl is-active kiosk-os-update.service)): $(journalctl -b -u kiosk-os-update.service -n 6 --no-pager -q -o cat | tr '\n' '|')"
systemctl reboot
