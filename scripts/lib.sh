# shellcheck shell=bash
# scripts/lib.sh -- shared helpers for scripts/test and scripts/demo.
#
# Source it from a bash script that runs with `set -euo pipefail`.
# The functions do not rely on `set -e` for their own error handling (bash
# ignores -e inside functions called from `if`/`||`), they check explicitly.
#
# Environment knobs:
#   PG_CONFIG   pg_config to use (default: /usr/lib/postgresql/$SD_PG_MAJOR/bin/pg_config;
#               for 18, the one unpacked from npm; ignored by --pg 17, which
#               uses the chroot's)
#   SD_PG_MAJOR 15 (default), 17 or 18; set by scripts/test --pg N
#   SD_PORT     port of the throwaway cluster (default 54329, unix socket only)
#   SD_KEEP=1   leave the throwaway cluster running at exit
#   SD_CFLAGS   PG_CFLAGS for the build (default: -Wall -Wextra -Werror; the
#               Makefile includes the server headers with -isystem so they are quiet)

SD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The PostgreSQL major to build and test against: 15 (this machine's, the
# default), 17 (Debian 13's, in a chroot: scripts/pg17-chroot.sh) or 18
# (from the npm registry: scripts/pg18-npm.sh).  scripts/test --pg N sets it.
: "${SD_PG_MAJOR:=15}"

# shellcheck source=scripts/pg17-chroot.sh
. "$SD_ROOT/scripts/pg17-chroot.sh"
# shellcheck source=scripts/pg18-npm.sh
. "$SD_ROOT/scripts/pg18-npm.sh"

if [ "$SD_PG_MAJOR" = 18 ]; then
    SD_PACKAGES=("${SD_PG18_PACKAGES[@]}")
else
    SD_PACKAGES=("postgresql-$SD_PG_MAJOR" "postgresql-server-dev-$SD_PG_MAJOR"
                 make gcc libipc-run-perl
                 python3-psycopg2 python3-django python3-sqlalchemy)
fi
# pg_cron, for t/004_pg_cron.pl (scheduling purge_expired): Debian 12's
# package, for 15 only (the 17 chroot and the 18 tree skip that test)
if [ "$SD_PG_MAJOR" = 15 ]; then
    SD_PACKAGES+=(postgresql-15-cron)
fi
: "${SD_PORT:=54329}"
: "${SD_KEEP:=0}"
: "${SD_CFLAGS:=-Wall -Wextra -Werror}"

sd_log()  { printf '%s\n' "$*" >&2; }
sd_die()  { printf 'error: %s\n' "$*" >&2; exit 1; }
sd_is_root() { [ "$(id -u)" -eq 0 ]; }

# Resolve PG_CONFIG / SD_BIN.  Only valid after the packages are installed.
sd_pg_config() {
    if [ -z "${PG_CONFIG:-}" ] && [ "$SD_PG_MAJOR" = 18 ]; then
        sd_pg18_setup
        PG_CONFIG="$(sd_pg18_dir)/bin/pg_config"
    fi
    if [ -z "${PG_CONFIG:-}" ]; then
        if [ -x "/usr/lib/postgresql/$SD_PG_MAJOR/bin/pg_config" ]; then
            PG_CONFIG="/usr/lib/postgresql/$SD_PG_MAJOR/bin/pg_config"
        elif command -v pg_config >/dev/null 2>&1; then
            PG_CONFIG="$(command -v pg_config)"
        else
            sd_die "pg_config not found (is postgresql-server-dev-$SD_PG_MAJOR installed?)"
        fi
    fi
    SD_BIN="$("$PG_CONFIG" --bindir)" || sd_die "$PG_CONFIG --bindir failed"
    export PG_CONFIG SD_BIN
}

# sd_check_major: PG_CONFIG is the major asked for (scripts/test --pg N).
sd_check_major() {
    local v
    v="$("$PG_CONFIG" --version)" || sd_die "$PG_CONFIG --version failed"
    case "$v" in
        "PostgreSQL $SD_PG_MAJOR".*|"PostgreSQL $SD_PG_MAJOR") ;;
        *) sd_die "$PG_CONFIG is $v, not PostgreSQL $SD_PG_MAJOR (unset PG_CONFIG?)" ;;
    esac
}

# sd_ensure_postgres_user: the OS user the throwaway clusters run as.
# Debian's postgresql-common makes it; with PostgreSQL 18 from npm there is
# no such package, so make it the same way (system user, home
# /var/lib/postgresql) when missing.
sd_ensure_postgres_user() {
    id postgres >/dev/null 2>&1 && return 0
    sd_is_root || sd_die "no 'postgres' OS user, and not root to make one"
    sd_log "making the system user postgres"
    useradd --system --user-group --home-dir /var/lib/postgresql \
        --shell /bin/bash postgres || sd_die "useradd postgres failed"
}

# sd_lock FILE: hold an exclusive lock on FILE (fd 9) until this process
# and the ones it execs end.  The PostgreSQL 17 chroot and the 18 tree are
# shared by every checkout on the machine (the extension is installed into
# them), so runs against one of them take turns instead of clashing.
sd_lock() {
    exec 9>"$1" || sd_die "cannot open lock $1"
    if ! flock -n 9; then
        sd_log "waiting for another run holding $1"
        flock 9 || sd_die "flock $1 failed"
    fi
}

# sd__copy_tree DEST: copy the source tree (not .git, not build or test
# output) to DEST, for a build against another major that must not mix
# its objects with the checkout's.
sd__copy_tree() {
    local dest="$1"
    mkdir -p "$dest" || sd_die "mkdir $dest failed"
    tar -C "$SD_ROOT" -cf - --exclude=./.git --exclude='*.o' --exclude='*.so' \
        --exclude='*.bc' --exclude=./results --exclude=./output_iso \
        --exclude=./tmp_check --exclude=./log --exclude='regression.*' . \
        | tar -C "$dest" -xf - || sd_die "copying the tree to $dest failed"
}

sd_require_packages() {
    local p missing=()
    for p in "${SD_PACKAGES[@]}"; do
        if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
            missing+=("$p")
        fi
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        if sd_is_root; then
            sd_log "installing missing packages: ${missing[*]}"
            apt-get update -qq || sd_die "apt-get update failed"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" \
                || sd_die "apt-get install failed"
        else
            sd_log "missing Debian packages; install them with:"
            printf 'sudo apt-get install -y %s\n' "${missing[*]}" >&2
            exit 1
        fi
    fi
    sd_pg_config
}

sd_build_install() {
    sd_pg_config
    local jobs
    jobs="$(nproc 2>/dev/null || echo 1)"
    make -C "$SD_ROOT" -j"$jobs" PG_CONFIG="$PG_CONFIG" PG_CFLAGS="$SD_CFLAGS" || {
        sd_log "build failed"; return 1; }
    if ! sd_is_root; then
        local d
        for d in "$("$PG_CONFIG" --pkglibdir)" "$("$PG_CONFIG" --sharedir)/extension"; do
            if [ ! -w "$d" ]; then
                sd_log "$d is not writable; install the extension with:"
                printf 'sudo make -C %s install PG_CONFIG=%s\n' "$SD_ROOT" "$PG_CONFIG" >&2
                exit 1
            fi
        done
    fi
    make -C "$SD_ROOT" PG_CONFIG="$PG_CONFIG" PG_CFLAGS="$SD_CFLAGS" install || {
        sd_log "make install failed"; return 1; }
}

# sd_pg_cron_setup: Debian's postgresql-15-cron installs into
# /usr/lib/postgresql/15; when PG_CONFIG is another copy of 15 (a private
# one), copy pg_cron's library and extension files into it, so that its
# clusters can preload pg_cron.  Does nothing for other majors.
sd_pg_cron_setup() {
    [ "$SD_PG_MAJOR" = 15 ] || return 0
    local src_lib=/usr/lib/postgresql/15/lib src_ext=/usr/share/postgresql/15/extension
    local lib ext
    lib="$("$PG_CONFIG" --pkglibdir)" || return 1
    ext="$("$PG_CONFIG" --sharedir)/extension" || return 1
    [ -f "$src_lib/pg_cron.so" ] || { sd_log "pg_cron is not installed: t/004_pg_cron.pl will skip"; return 0; }
    [ "$lib" -ef "$src_lib" ] && return 0
    cp -f "$src_lib/pg_cron.so" "$lib/" &&
        cp -f "$src_ext"/pg_cron.control "$src_ext"/pg_cron--*.sql "$ext/" || {
        sd_log "copying pg_cron into $lib failed"; return 1; }
}

# Run a server-side program (initdb, pg_ctl) as the cluster owner.
sd__as_owner() {
    if sd_is_root; then
        (cd "$SD_DIR" && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

sd__cleanup() {
    local rc=$?
    if [ -n "${SD_DIR:-}" ] && [ -d "$SD_DIR" ]; then
        if [ "$SD_KEEP" = 1 ]; then
            sd_log "SD_KEEP=1: cluster left running in $SD_DIR (port $PGPORT)"
        else
            sd_cluster_stop || true
            rm -rf "$SD_DIR"
        fi
    fi
    return "$rc"
}

# sd_cluster_start [extra postgresql.conf lines...]
sd_cluster_start() {
    sd_pg_config
    SD_DIR="$(mktemp -d /tmp/softdelete.XXXXXX)" || sd_die "mktemp failed"
    SD_DATA="$SD_DIR/data"
    SD_SOCKDIR="$SD_DIR/sock"
    SD_LOG="$SD_DIR/server.log"
    export SD_DIR SD_DATA SD_SOCKDIR SD_LOG
    trap sd__cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    mkdir -p "$SD_SOCKDIR" || sd_die "mkdir failed"
    chmod 755 "$SD_DIR"
    if sd_is_root; then
        sd_ensure_postgres_user
        chown -R postgres: "$SD_DIR" || sd_die "chown failed"
    fi

    sd__as_owner "$SD_BIN/initdb" -D "$SD_DATA" -U postgres --auth=trust --no-sync \
        -E UTF8 --locale=C >"$SD_DIR/initdb.log" 2>&1 || {
        cat "$SD_DIR/initdb.log" >&2; sd_die "initdb failed"; }

    {
        echo "# added by scripts/lib.sh"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$SD_SOCKDIR'"
        echo "port = $SD_PORT"
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
        echo "max_prepared_transactions = 10"
        local line
        for line in "$@"; do echo "$line"; done
    } >>"$SD_DATA/postgresql.conf"

    if ! sd__as_owner "$SD_BIN/pg_ctl" -D "$SD_DATA" -w -t 60 -l "$SD_LOG" start >/dev/null; then
        sd_log "pg_ctl start failed; server log:"
        cat "$SD_LOG" >&2 || true
        sd_die "could not start cluster"
    fi

    unset PGHOSTADDR PGSERVICE PGSERVICEFILE PGPASSWORD
    export PGHOST="$SD_SOCKDIR" PGPORT="$SD_PORT" PGUSER=postgres PGDATABASE=postgres
    sd_log "cluster up: PGHOST=$PGHOST PGPORT=$PGPORT (data $SD_DATA, log $SD_LOG)"
}

# sd_cluster_restart [extra postgresql.conf lines...]: append the lines,
# then restart the running cluster (e.g. to preload a library).
sd_cluster_restart() {
    local line
    for line in "$@"; do echo "$line"; done >>"$SD_DATA/postgresql.conf"
    if ! sd__as_owner "$SD_BIN/pg_ctl" -D "$SD_DATA" -w -t 60 -l "$SD_LOG" restart >/dev/null; then
        sd_log "pg_ctl restart failed; server log:"
        cat "$SD_LOG" >&2 || true
        sd_die "could not restart cluster"
    fi
}

sd_cluster_stop() {
    [ -n "${SD_DATA:-}" ] && [ -f "$SD_DATA/postmaster.pid" ] || return 0
    sd__as_owner "$SD_BIN/pg_ctl" -D "$SD_DATA" -w -t 60 -m fast stop >/dev/null 2>&1 \
        || sd__as_owner "$SD_BIN/pg_ctl" -D "$SD_DATA" -w -m immediate stop >/dev/null 2>&1 \
        || { sd_log "could not stop cluster in $SD_DATA"; return 1; }
}

# sd_psql_as ROLE DB [psql args...]
sd_psql_as() {
    local role="$1" db="$2"
    shift 2
    "$SD_BIN/psql" -X -v ON_ERROR_STOP=1 -U "$role" -d "$db" "$@"
}
