'use strict';
// softdelete through node-postgres (npm `pg`), as a plain application uses it:
// result.rowCount of DELETE, RETURNING, prepared (named) statements, several
// statements in one query, a rolled-back transaction, cascade and restore,
// RESTRICT, and a role that may only DELETE.
//
// Runs against a cluster with softdelete preloaded (shared_preload_libraries),
// as the application role of a sandbox database (see _common.js).

const pg = require('pg');
const { run, sqlstate, preloaded } = require('./_common');

const version = require('pg/package.json').version;

const ids = (res) => res.rows.map((r) => r.id);

run(`node-postgres ${version} (node ${process.version})`, 'pg', async (t, sb) => {
  t.ok(await preloaded(), 'the server preloads softdelete (shared_preload_libraries)');
  const c = await sb.connect();

  await c.query(`
    CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL);
    INSERT INTO t SELECT g, 'n' || g FROM generate_series(1, 8) g;
    SELECT softdelete.enable('t');
    CREATE TABLE parent (id int PRIMARY KEY);
    CREATE TABLE child (id int PRIMARY KEY,
                        parent_id int NOT NULL REFERENCES parent ON DELETE CASCADE);
    CREATE TABLE pin (id int PRIMARY KEY,
                      parent_id int NOT NULL REFERENCES parent ON DELETE RESTRICT);
    INSERT INTO parent VALUES (1), (2), (3);
    INSERT INTO child VALUES (10, 1), (11, 1), (12, 1), (20, 2);
    INSERT INTO pin VALUES (300, 3);
    SELECT softdelete.enable('parent'), softdelete.enable('child'), softdelete.enable('pin');
  `);

  // ---- rowCount ---------------------------------------------------------
  let r = await c.query('DELETE FROM t WHERE id IN (1, 2)');
  t.eq([r.command, r.rowCount], ['DELETE', 2], 'DELETE: command DELETE, rowCount 2');
  r = await c.query('DELETE FROM t WHERE id IN (1, 2, 3)');
  t.eq(r.rowCount, 1, 'rows already in the trash are not counted again');
  r = await c.query('DELETE FROM t WHERE id = $1', [999]);
  t.eq(r.rowCount, 0, 'DELETE of no row: rowCount 0');

  // ---- RETURNING --------------------------------------------------------
  r = await c.query('DELETE FROM t WHERE id = ANY($1) ' +
                    'RETURNING id, name, deleted_at, deleted_at = now() AS stamped_now', [[4, 5]]);
  t.eq(r.rowCount, 2, 'DELETE ... RETURNING: rowCount 2');
  t.eq(r.rows.map((x) => [x.id, x.name]).sort(), [[4, 'n4'], [5, 'n5']],
    'RETURNING returns the soft-deleted rows');
  t.ok(r.rows.every((x) => x.deleted_at instanceof Date && x.stamped_now),
    "RETURNING shows deleted_at (a Date), the transaction's now()");

  // ---- named prepared statement, run twice ------------------------------
  const del = { name: 'sd_delete_t', text: 'DELETE FROM t WHERE id = $1 RETURNING id' };
  r = await c.query({ ...del, values: [6] });
  t.eq([r.rowCount, ids(r)], [1, [6]], 'prepared statement: rowCount 1, RETURNING id 6');
  r = await c.query({ ...del, values: [7] });
  t.eq([r.rowCount, ids(r)], [1, [7]], 'the same prepared statement again: rowCount 1, id 7');

  // ---- what SELECT and the trash see ------------------------------------
  t.eq(ids(await c.query('SELECT id FROM t ORDER BY id')), [8], 'SELECT sees only the live row');
  t.eq(ids(await c.query('SELECT id FROM softdelete.trash(NULL::t) ORDER BY id')),
    [1, 2, 3, 4, 5, 6, 7], 'the owner reads the trash');

  // ---- several statements in one query (simple protocol) ----------------
  r = await c.query('DELETE FROM child WHERE id = 20; DELETE FROM t WHERE id = 8');
  t.eq(r.map((x) => x.rowCount), [1, 1], 'two DELETEs in one query: one result each, rowCount 1 and 1');
  t.eq(Number((await c.query("SELECT softdelete.restore('t', 8) AS n")).rows[0].n), 1,
    'restore() returns 1 (a bigint, as a string)');
  await c.query("SELECT softdelete.restore('child', 20)");

  // ---- a transaction rolled back ----------------------------------------
  await c.query('BEGIN');
  r = await c.query('DELETE FROM t WHERE id = 8');
  t.eq(r.rowCount, 1, 'inside a transaction: rowCount 1');
  t.eq(ids(await c.query('SELECT id FROM t')), [], 'the transaction no longer sees the row');
  await c.query('ROLLBACK');
  t.eq(ids(await c.query('SELECT id FROM t')), [8], 'after ROLLBACK the row is live again');
  t.eq(Number((await c.query('SELECT count(*) AS n FROM softdelete.trash(NULL::t)')).rows[0].n), 7,
    'and the trash is as before');

  // ---- cascade along ON DELETE CASCADE, restore ---------------------------
  r = await c.query('DELETE FROM parent WHERE id = 1 RETURNING id');
  t.eq([r.rowCount, ids(r)], [1, [1]], 'DELETE parent: rowCount 1, the parent only (as a hard delete)');
  t.eq(ids(await c.query('SELECT id FROM child ORDER BY id')), [20], 'its children are gone too');
  r = await c.query(`SELECT c.id FROM softdelete.trash(NULL::child) c
                       JOIN softdelete.trash(NULL::parent) p ON p.id = c.parent_id
                      WHERE c.deleted_at = p.deleted_at ORDER BY c.id`);
  t.eq(ids(r), [10, 11, 12], "the children are in the trash with the parent's stamp");
  r = await c.query("SELECT softdelete.restore('parent', 1) AS n");
  t.eq(r.rows[0].n, '4', "restore('parent', 1) returns '4': the parent and its 3 children");
  t.eq(ids(await c.query('SELECT id FROM child ORDER BY id')), [10, 11, 12, 20], 'the children are back');

  // ---- RESTRICT ---------------------------------------------------------------
  const e = await t.rejects(() => c.query('DELETE FROM parent WHERE id = 3'),
    'DELETE of a parent with a live RESTRICT child is refused',
    (err) => err instanceof pg.DatabaseError);
  t.eq(sqlstate(e), '23503', 'err.code 23503 (foreign_key_violation)');
  t.eq(ids(await c.query('SELECT id FROM parent ORDER BY id')), [1, 2, 3], 'nothing changed');

  // ---- a role with only DELETE --------------------------------------------------
  const clerk = await sb.newRole('clerk');
  await c.query(`CREATE TABLE ledger (id int PRIMARY KEY, amount int);
                 INSERT INTO ledger VALUES (1, 10), (2, 20), (3, 30);
                 SELECT softdelete.enable('ledger');
                 GRANT DELETE ON ledger TO "${clerk}"`);
  const cc = await sb.connect(clerk);
  r = await cc.query('DELETE FROM ledger');
  t.eq(r.rowCount, 3, 'a DELETE-only role soft-deletes (rowCount 3)');
  const e2 = await t.rejects(() => cc.query('SELECT * FROM softdelete.trash(NULL::ledger)'),
    'the DELETE-only role may not read the trash');
  t.eq(sqlstate(e2), '42501', 'err.code 42501 (insufficient_privilege)');
  t.eq(ids(await c.query('SELECT id FROM softdelete.trash(NULL::ledger) ORDER BY id')), [1, 2, 3],
    'the owner sees the 3 rows in the trash');
});
