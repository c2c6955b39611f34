-- privileges: every function, as the owner, a member of the owning role,
-- a member of softdelete_admin, a role with only DELETE, and a stranger.
-- soft_delete() is a DELETE run as the caller, so it needs the DELETE
-- privilege, which softdelete_admin does not give; everything else needs
-- ownership or softdelete_admin.
SET ROLE regress_owner;
CREATE TABLE vault (id int PRIMARY KEY);
INSERT INTO vault SELECT generate_series(1, 5);
SELECT softdelete.enable('vault');
GRANT SELECT, DELETE ON vault TO regress_clerk;
RESET ROLE;

-- each role runs the same calls in this order; the last two put the
-- table back as it was for the next role
CREATE TABLE calls (ord int, call text);
INSERT INTO calls VALUES
    (1, $$SELECT softdelete.soft_delete('vault', 1)$$),
    (2, $$SELECT count(*) FROM softdelete.trash(NULL::vault)$$),
    (3, $$SELECT count(*) FROM softdelete.with_trash(NULL::vault)$$),
    (4, $$SELECT softdelete.restore('vault', 1)$$),
    (5, $$SELECT softdelete.hard_delete('vault', 100)$$),
    (6, $$SELECT softdelete.purge('vault', '100 years')$$),
    (7, $$SELECT softdelete.disable('vault')$$),
    (8, $$SELECT softdelete.enable('vault')$$);
GRANT SELECT ON calls TO PUBLIC;

SET ROLE regress_owner;
SELECT ord, outcome(call) FROM (SELECT * FROM calls ORDER BY ord) c;
SET ROLE regress_owner_member;
SELECT ord, outcome(call) FROM (SELECT * FROM calls ORDER BY ord) c;
SET ROLE regress_admin;
SELECT ord, outcome(call) FROM (SELECT * FROM calls ORDER BY ord) c;
SET ROLE regress_clerk;
SELECT ord, outcome(call) FROM (SELECT * FROM calls ORDER BY ord) c;
SET ROLE regress_stranger;
SELECT ord, outcome(call) FROM (SELECT * FROM calls ORDER BY ord) c;

-- the clerk's soft delete took row 1; nothing else changed
SET ROLE regress_owner;
SELECT id, deleted_at IS NULL AS live FROM softdelete.with_trash(NULL::vault) ORDER BY id;
SELECT count(*) AS registered FROM softdelete.tables WHERE tbl = 'vault'::regclass;

-- one refusal in full: message, detail and hint
SET ROLE regress_clerk;
SELECT softdelete.restore('vault', 1);

-- the registry is readable, not writable, by everyone else
SET ROLE regress_stranger;
SELECT tbl FROM softdelete.registry;
SELECT outcome($$INSERT INTO softdelete.registry VALUES ('vault', 'x', false, false)$$);
SELECT outcome($$DELETE FROM softdelete.registry$$);

-- the statement trigger functions are not for attaching by hand; the row
-- trigger function must stay executable (PostgreSQL clones it onto new
-- partitions as the user creating them), but on a table that is not
-- soft-deletable it refuses to run, and the row is not deleted
SET ROLE regress_owner;
CREATE TABLE sneaky (id int);
INSERT INTO sneaky VALUES (1);
SELECT outcome($$CREATE TRIGGER t AFTER DELETE ON sneaky FOR EACH STATEMENT
                 EXECUTE FUNCTION softdelete.after_delete_trigger()$$);
SELECT outcome($$CREATE TRIGGER t BEFORE TRUNCATE ON sneaky FOR EACH STATEMENT
                 EXECUTE FUNCTION softdelete.truncate_trigger()$$);
CREATE TRIGGER t BEFORE DELETE ON sneaky FOR EACH ROW
    EXECUTE FUNCTION softdelete.before_delete_trigger();
DELETE FROM sneaky;
SELECT count(*) FROM sneaky;
-- attached at the wrong time, it says so
DROP TRIGGER t ON sneaky;
CREATE TRIGGER t AFTER INSERT ON sneaky FOR EACH ROW
    EXECUTE FUNCTION softdelete.before_delete_trigger();
SELECT outcome($$INSERT INTO sneaky VALUES (2)$$);

RESET ROLE;
DROP TABLE calls, sneaky;
SET ROLE regress_owner;
DROP TABLE vault;
RESET ROLE;
