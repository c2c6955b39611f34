# shellcheck shell=bash
# scripts/pg17-chroot.sh -- PostgreSQL 17 from Debian 13 ("trixie") packages,
# in a chroot made with mmdebstrap.  Sourced by scripts/lib.sh.
#
# Debian 12 ships only PostgreSQL 15 with server headers; Debian's own mirror
# also serves trixie, whose postgresql-17 and postgresql-server-dev-17 are
# built against trixie's glibc and so run in a trixie root only.  The chroot
# is made once (about a minute) and cached; `scripts/test --pg 17` copies the
# source tree into it and runs scripts/test there, so that the build, the
# cluster and every test use trixie's PostgreSQL 17, its pg_regress, its
# pg_isolation_regress and its PostgreSQL::Test::Cluster modules.
#
#   SD_PG17_ROOT    where the chroot lives (default /var/cache/softdelete/pg17-trixie)
#   SD_PG17_MIRROR  Debian mirror (default: the first deb.debian.org-style URI
#                   apt already uses, else http://deb.debian.org/debian)
#
# Mounts (/proc, /dev) are made in a private mount namespace (unshare -m), so
# nothing stays mounted after a run, however it ends.

: "${SD_PG17_ROOT:=/var/cache/softdelete/pg17-trixie}"
SD_PG17_PACKAGES=(postgresql-17 postgresql-server-dev-17 make gcc libc6-dev
                  libipc-run-perl perl python3-psycopg2 python3-django
                  python3-sqlalchemy util-linux)

# The Debian mirror this machine's apt already uses (deb822 or one-line format).
sd__debian_mirror() {
    local uri
    uri="$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
               /etc/apt/sources.list.d/*.sources 2>/dev/null \
           | grep -oE 'https?://[^ ]+/debian/?' | grep -v -- '-security' | head -n1 || true)"
    echo "${uri:-http://deb.debian.org/debian}"
}

# Make the chroot if it is not there yet (idempotent; a half-made one is
# never used: it is built beside and renamed into place when complete).
sd_pg17_setup() {
    local root="$SD_PG17_ROOT" mirror tmp
    if [ -f "$root/.softdelete-ready" ]; then
        return 0
    fi
    sd_is_root || sd_die "making the PostgreSQL 17 chroot needs root (mmdebstrap, chroot)"
    if ! command -v mmdebstrap >/dev/null 2>&1; then
        sd_log "installing mmdebstrap"
        apt-get update -qq || sd_die "apt-get update failed"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap \
            || sd_die "apt-get install mmdebstrap failed"
    fi
    mirror="${SD_PG17_MIRROR:-$(sd__debian_mirror)}"
    mkdir -p "$(dirname "$root")" || sd_die "mkdir $(dirname "$root") failed"
    tmp="$root.tmp.$$"
    rm -rf "$tmp"
    sd_log "making the PostgreSQL 17 chroot (Debian trixie from $mirror) in $root"
    local pkgs
    pkgs="$(IFS=,; echo "${SD_PG17_PACKAGES[*]}")"
    # No default cluster: postgresql-common would otherwise initdb one at install.
    if ! mmdebstrap --variant=minbase --include="$pkgs" \
            --essential-hook='mkdir -p "$1/etc/postgresql-common/createcluster.d" && echo "create_main_cluster = false" > "$1/etc/postgresql-common/createcluster.d/softdelete.conf"' \
            trixie "$tmp" "$mirror" >"$tmp.log" 2>&1; then
        tail -n 30 "$tmp.log" >&2
        rm -rf "$tmp"
        sd_die "mmdebstrap failed (log: $tmp.log)"
    fi
    rm -f "$tmp.log"
    touch "$tmp/.softdelete-ready"
    rm -rf "$root"
    mv "$tmp" "$root" || sd_die "could not move the chroot into place"
}

# sd_pg17_run CMD...: run CMD inside the chroot as root, in a private mount
# namespace with /proc and /dev mounted, a clean environment.
sd_pg17_run() {
    local root="$SD_PG17_ROOT"
    unshare --mount --propagation private -- /bin/sh -c '
        set -e
        root="$1"; shift
        mount -t proc proc "$root/proc"
        mount --rbind /dev "$root/dev"
        exec chroot "$root" "$@"
    ' sd-pg17 "$root" /usr/bin/env -i \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
        SD_PORT="${SD_PORT}" SD_KEEP="${SD_KEEP:-0}" SD_CFLAGS="${SD_CFLAGS}" \
        SD_PG_MAJOR=17 PG_CONFIG=/usr/lib/postgresql/17/bin/pg_config \
        "$@"
}

# sd_pg17_test [scripts/test args...]: copy the tree into the chroot and
# run the whole suite there.  Exit status and last line are scripts/test's.
sd_pg17_test() {
    sd_is_root || sd_die "--pg 17 runs in a chroot (unshare, chroot): run it as root"
    mkdir -p "$(dirname "$SD_PG17_ROOT")" || sd_die "mkdir failed"
    sd_lock "$SD_PG17_ROOT.lock"
    sd_pg17_setup
    local dest="$SD_PG17_ROOT/build/softdelete"
    rm -rf "$dest" && mkdir -p "$dest" || sd_die "cannot prepare $dest"
    sd__copy_tree "$dest"
    sd_pg17_run /bin/bash /build/softdelete/scripts/test "$@"
}
