#!/usr/bin/env bash
# bench/refcheck.sh -- issue 13: what the reference check costs an INSERT
# of child rows.  Single-row INSERTs by pgbench (2 clients, prepared) into
# a child table whose foreign key references
#   plain:       a plain parent (PostgreSQL's own check only)
#   softdelete:  a soft-deletable parent (PostgreSQL's check + ours)
# taking turns, REPS times each; prints each run and the median ratio.
# Needs a running server with the extension installed: PGHOST/PGPORT/PGUSER
# as for psql; creates and drops the database sd_bench_refcheck.
set -euo pipefail
SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
REPS="${REPS:-3}"
DB=sd_bench_refcheck
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -X -q -d "$DB" <<'SQL'
CREATE EXTENSION softdelete;
CREATE TABLE p_plain (id int PRIMARY KEY);
CREATE TABLE p_soft (id int PRIMARY KEY);
INSERT INTO p_plain SELECT generate_series(1, 100000);
INSERT INTO p_soft SELECT generate_series(1, 100000);
SELECT softdelete.enable('p_soft');
CREATE TABLE c_plain (id bigserial PRIMARY KEY, parent_id int REFERENCES p_plain);
CREATE TABLE c_soft (id bigserial PRIMARY KEY, parent_id int REFERENCES p_soft);
VACUUM ANALYZE;
SQL
tmp=$(mktemp -d)
for t in plain soft; do
    printf '\\set p random(1, 100000)\nINSERT INTO c_%s (parent_id) VALUES (:p);\n' "$t" > "$tmp/$t.sql"
done
declare -A runs
for rep in $(seq "$REPS"); do
    for t in plain soft; do
        tps=$(pgbench -n -c 2 -j 2 -M prepared -T "$SECONDS_PER_RUN" -f "$tmp/$t.sql" "$DB" |
              sed -nE 's/^tps = ([0-9.]+) \(without.*/\1/p')
        echo "rep $rep  child of $t parent: $tps tps"
        runs[$t]="${runs[$t]:-} $tps"
    done
done
python3 - "${runs[plain]}" "${runs[soft]}" <<'PY'
import statistics, sys
plain = [float(x) for x in sys.argv[1].split()]
soft = [float(x) for x in sys.argv[2].split()]
mp, ms = statistics.median(plain), statistics.median(soft)
print("median: plain parent %.0f tps, soft-deletable parent %.0f tps, ratio %.2fx (target >= 0.85x)"
      % (mp, ms, ms / mp))
PY
rm -rf "$tmp"
psql -X -q -d postgres -c "DROP DATABASE $DB"
