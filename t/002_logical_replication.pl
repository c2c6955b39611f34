# Logical replication: soft deletes travel as the UPDATEs they are, and a
# subscriber applies replicated DELETEs (what purge sends) as the hard
# deletes they are -- its apply worker runs with session_replication_role
# = replica, so the soft-delete trigger does not fire there.  Both nodes
# preload the library, as production servers would.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pub = PostgreSQL::Test::Cluster->new('publisher');
$pub->init(allows_streaming => 'logical');
$pub->append_conf('postgresql.conf', "shared_preload_libraries = 'softdelete'");
$pub->start;
my $sub = PostgreSQL::Test::Cluster->new('subscriber');
$sub->init;
$sub->append_conf('postgresql.conf', "shared_preload_libraries = 'softdelete'");
$sub->start;

for my $node ($pub, $sub)
{
	$node->safe_psql('postgres', q{
		CREATE EXTENSION softdelete;
		CREATE TABLE items (id int PRIMARY KEY, name text, deleted_at timestamptz);
	});
	is($node->safe_psql('postgres', q{SELECT count(*) FROM softdelete.tables}),
		'1', $node->name . ': the table enabled itself');
}

$pub->safe_psql('postgres', q{
	INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 5) g;
	CREATE PUBLICATION items_pub FOR TABLE items;
});
my $connstr = $pub->connstr . ' dbname=postgres';
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION items_sub CONNECTION '$connstr' PUBLICATION items_pub");
$sub->wait_for_subscription_sync($pub, 'items_sub');

# the superuser sees every row, live and trashed
my $state = q{SELECT string_agg(id || ':' || (deleted_at IS NOT NULL), ',' ORDER BY id) FROM items};
is($sub->safe_psql('postgres', $state), '1:false,2:false,3:false,4:false,5:false',
	'initial sync');

# a soft delete on the publisher reaches the subscriber as the UPDATE it is
$pub->safe_psql('postgres', q{DELETE FROM items WHERE id IN (1, 2)});
$pub->wait_for_catchup('items_sub');
is($sub->safe_psql('postgres', $state), '1:true,2:true,3:false,4:false,5:false',
	'soft delete replicated as a stamp');
is($sub->safe_psql('postgres', q{SELECT count(DISTINCT deleted_at) FROM items WHERE id IN (1, 2)}),
	'1', 'with the one stamp of the publisher');

# restore too
$pub->safe_psql('postgres', q{SELECT softdelete.restore('items', 2)});
$pub->wait_for_catchup('items_sub');
is($sub->safe_psql('postgres', $state), '1:true,2:false,3:false,4:false,5:false',
	'restore replicated');

# purge sends real DELETEs; the subscriber applies them as such
$pub->safe_psql('postgres', q{SELECT softdelete.purge('items')});
$pub->wait_for_catchup('items_sub');
is($sub->safe_psql('postgres', $state), '2:false,3:false,4:false,5:false',
	'purge replicated as a hard delete, not softened on the subscriber');

# a DELETE on the subscriber itself is soft there, as everywhere
$sub->safe_psql('postgres', q{DELETE FROM items WHERE id = 5});
is($sub->safe_psql('postgres', $state), '2:false,3:false,4:false,5:true',
	'local DELETE on the subscriber is soft');

$sub->stop;
$pub->stop;
done_testing();
