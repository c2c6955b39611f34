# pg_dump round trips of a database that uses softdelete: a plain dump
# restored with psql -v ON_ERROR_STOP=1, and a custom-format dump restored
# with pg_restore --exit-on-error, both into new databases.  Each restore
# must succeed without error and behave the same: the same tables enabled
# (and the disabled one still disabled), every trashed row still trashed
# with its stamp and restorable, DELETE still soft, partitions included.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    CREATE DATABASE shop OWNER app;
});
$node->safe_psql('shop', q{CREATE EXTENSION softdelete;});
$node->safe_psql('shop', q{
    SET ROLE app;
    -- a cascade
    CREATE TABLE customers (id int PRIMARY KEY, name text);
    CREATE TABLE orders (id int PRIMARY KEY,
                         customer_id int REFERENCES customers ON DELETE CASCADE);
    INSERT INTO customers VALUES (1, 'ann'), (2, 'bob');
    INSERT INTO orders VALUES (10, 1), (11, 1), (20, 2);
    SELECT softdelete.enable('customers'), softdelete.enable('orders');
    DELETE FROM orders WHERE id = 11;
    DELETE FROM customers WHERE id = 1;
    -- auto-enabled by the event trigger, then a renamed stamp column
    CREATE TABLE notes (id int PRIMARY KEY, deleted_at timestamptz);
    INSERT INTO notes VALUES (1), (2);
    DELETE FROM notes WHERE id = 2;
    ALTER TABLE notes RENAME COLUMN deleted_at TO removed_at;
    -- a table with its own policies, RLS on before enable
    CREATE TABLE tenants (id int PRIMARY KEY, tenant text);
    CREATE POLICY tenant_all ON tenants USING (true);
    ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
    INSERT INTO tenants VALUES (1, 'a'), (2, 'b');
    SELECT softdelete.enable('tenants');
    DELETE FROM tenants WHERE id = 1;
    -- a table with deleted_at that was disabled on purpose
    CREATE TABLE plain (id int PRIMARY KEY, deleted_at timestamptz);
    SELECT softdelete.disable('plain');
    INSERT INTO plain VALUES (1), (2);
    -- a partitioned table
    CREATE TABLE readings (id int, part int, PRIMARY KEY (id, part)) PARTITION BY LIST (part);
    CREATE TABLE readings_1 PARTITION OF readings FOR VALUES IN (1);
    SELECT softdelete.enable('readings');
    CREATE TABLE readings_2 PARTITION OF readings FOR VALUES IN (2);
    INSERT INTO readings VALUES (1, 1), (2, 2), (3, 2);
    DELETE FROM readings WHERE id IN (1, 2);
    -- boolean flags (issue 12): a live_flag, and a partitioned deleted_flag
    CREATE TABLE books (id int PRIMARY KEY, active boolean NOT NULL DEFAULT true);
    INSERT INTO books VALUES (1, true), (2, false), (3, true);
    SELECT softdelete.enable('books', live_flag => 'active');
    DELETE FROM books WHERE id = 3;
    CREATE TABLE shelves (id int, part int, is_deleted boolean NOT NULL DEFAULT false,
                          PRIMARY KEY (id, part)) PARTITION BY LIST (part);
    CREATE TABLE shelves_1 PARTITION OF shelves FOR VALUES IN (1);
    SELECT softdelete.enable('shelves', deleted_flag => 'is_deleted');
    CREATE TABLE shelves_2 PARTITION OF shelves FOR VALUES IN (2);
    INSERT INTO shelves VALUES (1, 1), (2, 2), (3, 2);
    DELETE FROM shelves WHERE id = 2;   -- (an UPDATE of the flag needs the library preloaded)
});

# What must be the same after a restore, read as the superuser (who sees
# every row): the registry, the partitions, every row with its stamp, and
# the objects the extension installed.
my $state_sql = q{
    SELECT 'registry', tbl::text, column_name::text, rls_was_enabled::text, rls_was_forced::text
      FROM softdelete.registry
    UNION ALL
    SELECT 'flag', tbl::text, live_flag::text, deleted_flag::text, NULL
      FROM softdelete.registry WHERE live_flag IS NOT NULL OR deleted_flag IS NOT NULL
    UNION ALL
    SELECT 'check', conrelid::regclass::text, conname::text, pg_get_constraintdef(oid), NULL
      FROM pg_constraint WHERE conname = 'softdelete_flag_in_step'
    UNION ALL
    SELECT 'books', id::text, active::text, deleted_at::text, NULL FROM books
    UNION ALL
    SELECT 'shelves', id::text, tableoid::regclass::text, is_deleted::text, deleted_at::text
      FROM shelves
    UNION ALL
    SELECT 'partition', tbl::text, root::text, rls_was_enabled::text, rls_was_forced::text
      FROM softdelete.partitions
    UNION ALL
    SELECT 'customers', id::text, name, deleted_at::text, NULL FROM customers
    UNION ALL
    SELECT 'orders', id::text, customer_id::text, deleted_at::text, NULL FROM orders
    UNION ALL
    SELECT 'notes', id::text, NULL, removed_at::text, NULL FROM notes
    UNION ALL
    SELECT 'tenants', id::text, tenant, deleted_at::text, NULL FROM tenants
    UNION ALL
    SELECT 'plain', id::text, NULL, deleted_at::text, NULL FROM plain
    UNION ALL
    SELECT 'readings', id::text, tableoid::regclass::text, deleted_at::text, NULL FROM readings
    UNION ALL
    -- the reference checks (issue 13) are internal triggers, named with
    -- their OID like PostgreSQL's own: shown by their foreign key instead
    SELECT 'trigger', tgrelid::regclass::text,
           CASE WHEN tgisinternal
                THEN regexp_replace(tgname, '_[0-9]+$', '') || ' for ' ||
                     (SELECT conname FROM pg_constraint WHERE oid = tgconstraint)
                ELSE tgname::text END,
           tgenabled::text, NULL
      FROM pg_trigger WHERE tgname LIKE 'softdelete%'
    UNION ALL
    SELECT 'policy', polrelid::regclass::text, polname::text, polpermissive::text, NULL
      FROM pg_policy
    UNION ALL
    SELECT 'rls', oid::regclass::text, relrowsecurity::text, relforcerowsecurity::text, NULL
      FROM pg_class WHERE relrowsecurity OR relforcerowsecurity
    ORDER BY 1, 2, 3
};
my $source_state = $node->safe_psql('shop', $state_sql);
like($source_state, qr/registry\|notes\|removed_at/, 'source state has the registry');
like($source_state, qr/trigger\|readings_2\|softdelete_after_delete/,
	'source state has the triggers of a later partition');
like($source_state, qr/policy\|tenants\|softdelete_filter/, 'source state has the policies');
like($source_state, qr/trigger\|orders\|softdelete_reference_check for orders_customer_id_fkey/,
	'source state has the reference check of a foreign key (issue 13)');

# What a normal session sees and does, as the owning role.
my $behaviour_sql = q{
    SET ROLE app;
    SELECT 'live customers', string_agg(id::text, ',' ORDER BY id) FROM customers;
    SELECT 'live orders', string_agg(id::text, ',' ORDER BY id) FROM orders;
    SELECT 'live readings_2', string_agg(id::text, ',' ORDER BY id) FROM readings_2;
    DELETE FROM customers WHERE id = 2;
    SELECT 'after delete', count(*) FROM orders;
    CREATE FUNCTION pg_temp.refused(cmd text) RETURNS text LANGUAGE plpgsql AS $$
    BEGIN EXECUTE cmd; RETURN 'accepted';
    EXCEPTION WHEN foreign_key_violation THEN RETURN 'refused'; END $$;
    SELECT 'order for a trashed customer', pg_temp.refused('INSERT INTO orders VALUES (99, 2)');
    SELECT 'restore 1', softdelete.restore('customers', 1);
    SELECT 'restore 2', softdelete.restore('customers', 2);
    SELECT 'live orders again', string_agg(id::text, ',' ORDER BY id) FROM orders;
    DELETE FROM plain WHERE id = 1;
    SELECT 'plain is hard', count(*) FROM plain;
    SELECT 'readings trash', string_agg(id::text, ',' ORDER BY id) FROM softdelete.trash(NULL::readings);
    DELETE FROM books WHERE id = 1;   -- (an UPDATE of the flag needs the library preloaded)
    SELECT 'books', string_agg(id || ':' || active || ':' || (deleted_at IS NOT NULL), ',' ORDER BY id)
      FROM softdelete.with_trash(NULL::books);
    DELETE FROM shelves WHERE id = 3;
    SELECT 'restore shelf', softdelete.restore('shelves', ROW(2, 2));
    SELECT 'shelves', string_agg(id || ':' || is_deleted || ':' || (deleted_at IS NOT NULL), ',' ORDER BY id)
      FROM softdelete.with_trash(NULL::shelves);
};
my $source_behaviour = $node->safe_psql('shop', "BEGIN; $behaviour_sql ROLLBACK;");
like($source_behaviour, qr/restore 1\|2\n/, 'source: restore brings back the customer and its order');
like($source_behaviour, qr/books\|1:false:true,2:false:true,3:false:true$/m,
	'source: the flag follows the stamp (issue 12)');
like($source_behaviour, qr/shelves\|1:false:false,2:false:false,3:true:true$/m,
	'source: the partitioned flag follows the stamp, restore included (issue 12)');
like($source_behaviour, qr/order for a trashed customer\|refused/,
	'source: no new order for a trashed customer (issue 13)');

my $dir = PostgreSQL::Test::Utils::tempdir;

# A role subject to row-level security cannot take a backup: pg_dump
# refuses instead of silently leaving out the trash.
my $ret;
my $res = $node->run_log(
    [ 'pg_dump', '-d', $node->connstr('shop') . ' user=app', '-f', "$dir/app.sql" ]);
ok(!$res, 'pg_dump as a role subject to RLS fails');

sub check_copy
{
	my ($db, $how) = @_;
	is($node->safe_psql($db, $state_sql), $source_state,
		"$how: registry, partitions, rows, stamps, triggers, policies, RLS as before");
	is($node->safe_psql($db, "BEGIN; $behaviour_sql ROLLBACK;"), $source_behaviour,
		"$how: DELETE still soft, trash restorable, disabled table still hard");
	return;
}

# plain format, restored with psql -v ON_ERROR_STOP=1
$node->command_ok([ 'pg_dump', '-d', $node->connstr('shop'), '-f', "$dir/shop.sql" ],
	'pg_dump plain');
$node->safe_psql('postgres', 'CREATE DATABASE copy_plain OWNER app');
my ($stdout, $stderr);
$ret = $node->psql('copy_plain', undef, extra_params => [ '-v', 'ON_ERROR_STOP=1', '-f', "$dir/shop.sql" ],
	stdout => \$stdout, stderr => \$stderr);
is($ret, 0, 'plain restore with ON_ERROR_STOP succeeds');
is($stderr, '', 'plain restore prints no error or warning');
check_copy('copy_plain', 'plain dump');

# custom format, restored with pg_restore --exit-on-error
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('shop'), '-f', "$dir/shop.dump" ],
	'pg_dump -Fc');
$node->safe_psql('postgres', 'CREATE DATABASE copy_custom OWNER app');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('copy_custom'), "$dir/shop.dump" ],
	'pg_restore succeeds');
check_copy('copy_custom', 'custom dump');

# a restore with auto_enable on must not enable the disabled table, and
# the auto-enabled table must not end up with anything twice
is($node->safe_psql('copy_custom',
		q{SELECT count(*) FROM pg_trigger WHERE tgrelid = 'plain'::regclass}),
	'0', 'the table disabled on purpose has no triggers after restore');

$node->stop;
done_testing();
