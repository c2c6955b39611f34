# Scheduling purge_expired with pg_cron (Debian's postgresql-15-cron), as
# the README documents it: a role that may manage the tables schedules
# CALL softdelete.purge_expired() with cron.schedule, and a run of the job
# removes the expired trash, and only that.  pg_cron 1.4 (Debian 12) runs
# jobs at minute boundaries, so this waits for the next one (at most a
# minute).  Skipped where pg_cron is not installed for this PostgreSQL
# (scripts/test installs it for 15).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pkglibdir = `pg_config --pkglibdir`;
chomp $pkglibdir;
if (!-f "$pkglibdir/pg_cron.so")
{
	plan skip_all => "pg_cron is not installed in $pkglibdir";
}

my $node = PostgreSQL::Test::Cluster->new('cron');
$node->init;
# pg_cron runs each job through a libpq connection to this server: over
# the cluster's Unix socket, as the role that scheduled it
my $host = $node->host;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.host = '$host'
});
$node->start;

$node->safe_psql('postgres', q{
    CREATE EXTENSION softdelete;
    CREATE EXTENSION pg_cron;
    CREATE ROLE app_owner;
    -- the role that runs the job: may log in, manages every table
    CREATE ROLE purger LOGIN IN ROLE softdelete_admin;
    GRANT USAGE ON SCHEMA cron TO purger;
    CREATE TABLE items (id int PRIMARY KEY, deleted_at timestamptz);
    ALTER TABLE items OWNER TO app_owner;
    INSERT INTO items SELECT generate_series(1, 1000);
    SET ROLE app_owner;
    SELECT softdelete.enable('items');
    SELECT softdelete.set_retention('items', '30 days');
    DELETE FROM items WHERE id <= 600;
    RESET ROLE;
    -- 500 of the trashed rows are older than the retention
    UPDATE items SET deleted_at = now() - interval '40 days' WHERE id <= 500;
});

my $jobid = $node->safe_psql('postgres',
	q{SELECT cron.schedule('softdelete-purge', '* * * * *', 'CALL softdelete.purge_expired()')},
	extra_params => [ '-U', 'purger' ]);
like($jobid, qr/^\d+$/, 'cron.schedule as the purging role');

ok( $node->poll_query_until(
		'postgres', q{
    SELECT count(*) > 0 FROM cron.job_run_details
     WHERE status IN ('succeeded', 'failed')}),
	'the job ran');
is( $node->safe_psql(
		'postgres', q{
    SELECT d.status || ' ' || d.return_message || ' ' || d.username
      FROM cron.job_run_details d
     ORDER BY d.runid LIMIT 1}),
	'succeeded CALL purger',
	'the run succeeded, as the role that scheduled it');

# read as the superuser, who sees every row
is( $node->safe_psql(
		'postgres', q{
    SELECT count(*) FILTER (WHERE deleted_at IS NULL) || ' live, '
        || count(*) FILTER (WHERE deleted_at IS NOT NULL) || ' trashed, min id '
        || min(id)
      FROM items}),
	'400 live, 100 trashed, min id 501',
	'expired trash removed; younger trash and live rows kept');

$node->safe_psql('postgres', q{SELECT cron.unschedule('softdelete-purge')},
	extra_params => [ '-U', 'purger' ]);
$node->stop;
done_testing();
