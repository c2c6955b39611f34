-- enable / disable: idempotence, the column, and exact undo of the
-- table's row-level security state.
SET ROLE regress_owner;

-- a plain table: enable adds the column, triggers, policies, RLS + FORCE
CREATE TABLE plain (id int PRIMARY KEY, v text);
INSERT INTO plain VALUES (1, 'a'), (2, 'b');
SELECT softdelete.enable('plain');
\d plain
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'plain'::regclass;
SELECT tbl, column_name, rls_was_enabled, rls_was_forced, primary_key, partitioned
  FROM softdelete.tables;

-- enabling again changes nothing
SELECT softdelete.enable('plain');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'plain'::regclass;
SELECT count(*) AS policies FROM pg_policy WHERE polrelid = 'plain'::regclass;
SELECT count(*) AS registered FROM softdelete.registry;

-- a different column on an enabled table is refused
SELECT softdelete.enable('plain', 'removed_at');  -- fails: already enabled

-- disable keeps the column and the rows, removes the rest
DELETE FROM plain WHERE id = 2;
SELECT softdelete.disable('plain');
\d plain
SELECT id, v, deleted_at IS NOT NULL AS was_trashed FROM plain ORDER BY id;
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'plain'::regclass;
SELECT count(*) AS registered FROM softdelete.registry;
-- disable on a table that is not soft-deletable: a notice, nothing else
SELECT softdelete.disable('plain');

-- re-enable after disable: the existing column is reused, trashed rows stay trashed
SELECT softdelete.enable('plain');
SELECT id FROM plain ORDER BY id;
SELECT softdelete.disable('plain');
DROP TABLE plain;

-- an existing timestamptz column under another name
CREATE TABLE named (id int PRIMARY KEY, "Removed At" timestamptz);
INSERT INTO named VALUES (1, NULL), (2, now());
SELECT softdelete.enable('named', 'Removed At');
SELECT id FROM named ORDER BY id;   -- row 2 was already in the trash
SELECT column_name FROM softdelete.tables WHERE tbl = 'named'::regclass;
SELECT softdelete.disable('named');
DROP TABLE named;

-- a table with its own RLS policies, enabled but not forced: its policies
-- keep their meaning, no allow-all policy is added, and disable puts back
-- exactly what was there
CREATE TABLE tenant_rows (id int PRIMARY KEY, tenant text);
INSERT INTO tenant_rows VALUES (1, 'a'), (2, 'b'), (3, 'a');
CREATE POLICY tenant_a ON tenant_rows USING (tenant = 'a');
ALTER TABLE tenant_rows ENABLE ROW LEVEL SECURITY;
GRANT SELECT, DELETE ON tenant_rows TO regress_clerk;
SELECT softdelete.enable('tenant_rows');
SELECT polname, polpermissive, pg_get_expr(polqual, polrelid) AS using
  FROM pg_policy WHERE polrelid = 'tenant_rows'::regclass ORDER BY polname;
SET ROLE regress_clerk;
SELECT id FROM tenant_rows ORDER BY id;   -- tenant policy still applies
DELETE FROM tenant_rows WHERE id = 3;
SELECT id FROM tenant_rows ORDER BY id;
SET ROLE regress_owner;
SELECT softdelete.disable('tenant_rows');
SELECT polname FROM pg_policy WHERE polrelid = 'tenant_rows'::regclass ORDER BY polname;
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'tenant_rows'::regclass;
DROP TABLE tenant_rows;

-- RLS enabled and forced before: both stay on after disable
CREATE TABLE forced (id int PRIMARY KEY);
CREATE POLICY everything ON forced USING (true);
ALTER TABLE forced ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
SELECT softdelete.enable('forced');
SELECT rls_was_enabled, rls_was_forced FROM softdelete.tables WHERE tbl = 'forced'::regclass;
SELECT softdelete.disable('forced');
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'forced'::regclass;
SELECT polname FROM pg_policy WHERE polrelid = 'forced'::regclass;
DROP TABLE forced;

-- a partitioned table: the row trigger is cloned to the partitions, and
-- each partition gets the statement triggers, so a DELETE naming a
-- partition is soft too
CREATE TABLE events (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO events VALUES (1, '2025-05-01'), (2, '2026-05-01'), (3, '2026-06-01');
SELECT softdelete.enable('events');
SELECT tgrelid::regclass, tgname FROM pg_trigger
 WHERE tgrelid IN ('events'::regclass, 'events_2025'::regclass, 'events_2026'::regclass)
 ORDER BY 1, 2;
DELETE FROM events WHERE id = 1;
DELETE FROM events_2026 WHERE id = 2;
SELECT id FROM events ORDER BY id;
SELECT id, at FROM softdelete.trash(NULL::events) ORDER BY id;
SELECT partitioned FROM softdelete.tables WHERE tbl = 'events'::regclass;
-- a partition of an enabled table cannot be enabled on its own
SELECT softdelete.enable('events_2025');  -- fails
SELECT softdelete.disable('events');
SELECT count(*) AS our_triggers FROM pg_trigger
 WHERE tgname LIKE 'softdelete%'
   AND tgrelid IN ('events'::regclass, 'events_2025'::regclass, 'events_2026'::regclass);
DROP TABLE events;
RESET ROLE;
