'use strict';
// Shared helpers for the Node.js client tests in clients/node/test_*.js,
// the JavaScript twin of clients/_common.py.
//
// scripts/test-packages runs each test with the machine's `node`, with
// PGHOST/PGPORT/PGUSER=postgres/PGDATABASE pointing at a throwaway cluster.
// Superusers bypass row-level security, so each test runs the application as
// a non-superuser LOGIN role that owns its tables, in a database of its own:
//
//   run('node-postgres ' + version, 'pg', async (t, sb) => {
//     const c = await sb.connect();          // a pg.Client as the app role
//     t.eq((await c.query('DELETE ...')).rowCount, 2, 'rowCount');
//   });
//
// Output is TAP-like: one "ok - name" / "not ok - name" line per check, then
// ONE summary line "# <library> <version>: N/M passed"; exit status 0 iff
// every check passed.

const crypto = require('crypto');
const util = require('util');
const pg = require('pg');

function connParams(over = {}) {
  const p = {};
  if (process.env.PGHOST) p.host = process.env.PGHOST;
  if (process.env.PGPORT) p.port = Number(process.env.PGPORT);
  p.user = process.env.PGUSER || 'postgres';
  p.database = process.env.PGDATABASE || 'postgres';
  return Object.assign(p, over);
}

function ident(name) {
  return '"' + String(name).replace(/"/g, '""') + '"';
}

async function adminQuery(database, ...sqls) {
  const c = new pg.Client(connParams(database ? { database } : {}));
  await c.connect();
  try {
    const out = [];
    for (const s of sqls) out.push(await c.query(s));
    return out;
  } finally {
    await c.end();
  }
}

// A database and a non-superuser LOGIN role, both unique and throwaway.
// open(): CREATE ROLE, CREATE DATABASE ... OWNER, then (as the superuser)
// CREATE EXTENSION softdelete and hand schema public to the role.
class Sandbox {
  constructor(tag) {
    const suffix = crypto.randomBytes(5).toString('hex');
    this.dbname = `sd_client_${tag}_${suffix}`;
    this.role = `sd_app_${tag}_${suffix}`;
    this.extraRoles = [];
    this.clients = [];
  }

  async open() {
    await adminQuery(null,
      `CREATE ROLE ${ident(this.role)} LOGIN NOSUPERUSER NOBYPASSRLS`,
      `CREATE DATABASE ${ident(this.dbname)} OWNER ${ident(this.role)}`);
    await adminQuery(this.dbname,
      'CREATE EXTENSION softdelete',
      `ALTER SCHEMA public OWNER TO ${ident(this.role)}`);
    return this;
  }

  params(user) {
    return connParams({ database: this.dbname, user: user || this.role });
  }

  // A connected pg.Client as the app role (or user); closed by drop().
  async connect(user) {
    const c = new pg.Client(this.params(user));
    await c.connect();
    this.clients.push(c);
    return c;
  }

  // A superuser query in the sandbox database.
  async admin(sql) {
    return (await adminQuery(this.dbname, sql))[0];
  }

  async newRole(name) {
    const full = `${this.role}_${name}`;
    await adminQuery(null, `CREATE ROLE ${ident(full)} LOGIN NOSUPERUSER NOBYPASSRLS`);
    this.extraRoles.push(full);
    return full;
  }

  async drop() {
    for (const c of this.clients) {
      try { await c.end(); } catch (e) { /* already closed */ }
    }
    const c = new pg.Client(connParams());
    await c.connect();
    try {
      await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity ' +
                    'WHERE datname = $1 AND pid <> pg_backend_pid()', [this.dbname]);
      await c.query(`DROP DATABASE IF EXISTS ${ident(this.dbname)}`);
      for (const r of this.extraRoles.concat([this.role])) {
        await c.query(`DROP ROLE IF EXISTS ${ident(r)}`);
      }
    } finally {
      await c.end();
    }
  }
}

// Is softdelete named in the server's shared_preload_libraries?
async function preloaded() {
  const [r] = await adminQuery(null, 'SHOW shared_preload_libraries');
  return r.rows[0].shared_preload_libraries.split(',')
    .map((s) => s.trim().replace(/^"|"$/g, '')).includes('softdelete');
}

class Tap {
  constructor(name) {
    this.name = name;
    this.passed = 0;
    this.failed = 0;
    console.log(`# ${name}`);
  }

  ok(cond, name, detail) {
    if (cond) {
      this.passed++;
      console.log(`ok - ${name}`);
    } else {
      this.failed++;
      console.log(`not ok - ${name}`);
      if (detail !== undefined) {
        for (const line of String(detail).split('\n')) console.log(`#   ${line}`);
      }
    }
    return Boolean(cond);
  }

  eq(got, expected, name) {
    return this.ok(util.isDeepStrictEqual(got, expected), name,
      `expected: ${util.inspect(expected)}\n     got: ${util.inspect(got)}`);
  }

  // fn() must reject; check(err) (if given) must be true.  Returns the error.
  async rejects(fn, name, check) {
    try {
      await fn();
    } catch (e) {
      this.ok(!check || check(e), name, `rejected with ${e && e.name}: ${e && e.message}` +
        (e && sqlstate(e) ? ` (SQLSTATE ${sqlstate(e)})` : ''));
      return e;
    }
    this.ok(false, name, 'expected an error, nothing was raised');
    return null;
  }

  crash(where, e) {
    const code = e && sqlstate(e);
    this.ok(false, `no unexpected exception (${where})`,
      `${e && e.name}: ${e && e.message}${code ? ` (SQLSTATE ${code})` : ''}\n` +
      (e && e.stack ? e.stack : String(e)));
  }

  done() {
    const total = this.passed + this.failed;
    console.log(`# ${this.name}: ${this.passed}/${total} passed`);
    if (total === 0) {
      console.log('not ok - no checks ran');
      return 1;
    }
    return this.failed ? 1 : 0;
  }
}

// The SQLSTATE of a pg error, also when wrapped by Sequelize.
function sqlstate(e) {
  for (const x of [e, e && e.original, e && e.parent]) {
    if (x && typeof x.code === 'string' && /^[0-9A-Z]{5}$/.test(x.code)) return x.code;
  }
  return null;
}

// Run one test file: a sandbox, main(t, sb), the summary, the exit status.
async function run(name, tag, main) {
  const t = new Tap(name);
  const sb = new Sandbox(tag);
  try {
    await sb.open();
    await main(t, sb);
  } catch (e) {
    t.crash(tag, e);
  } finally {
    try { await sb.drop(); } catch (e) { t.crash('sandbox drop', e); }
  }
  process.exitCode = t.done();
}

module.exports = { Sandbox, Tap, run, ident, sqlstate, preloaded, connParams };
