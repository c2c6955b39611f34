-- restore along foreign keys: exactly what one deletion took.
SET ROLE regress_owner;
CREATE TABLE projects (id int PRIMARY KEY);
CREATE TABLE tasks (id int PRIMARY KEY,
                    project_id int NOT NULL REFERENCES projects ON DELETE CASCADE,
                    title text);
CREATE TABLE comments (id int PRIMARY KEY,
                       task_id int NOT NULL REFERENCES tasks ON DELETE CASCADE);
INSERT INTO projects VALUES (1), (2);
INSERT INTO tasks VALUES (10, 1, 'a'), (11, 1, 'b'), (12, 1, 'c'), (20, 2, 'd');
INSERT INTO comments VALUES (100, 10), (101, 10), (110, 11), (120, 12), (200, 20);
SELECT softdelete.enable('projects'), softdelete.enable('tasks'), softdelete.enable('comments');

-- task 12 and comment 101 were deleted by earlier, separate deletions
DELETE FROM tasks WHERE id = 12;
DELETE FROM comments WHERE id = 101;
DELETE FROM projects WHERE id = 1;
SELECT (SELECT count(*) FROM softdelete.trash(NULL::projects)) AS projects,
       (SELECT count(*) FROM softdelete.trash(NULL::tasks)) AS tasks,
       (SELECT count(*) FROM softdelete.trash(NULL::comments)) AS comments;

-- restoring the project brings back tasks 10, 11 and comments 100, 110:
-- 5 rows; task 12, comment 120 under it, and comment 101 stay in the trash
SELECT softdelete.restore('projects', 1);
SELECT id FROM tasks ORDER BY id;
SELECT id FROM comments ORDER BY id;
SELECT id FROM softdelete.trash(NULL::comments) ORDER BY id;

-- restoring a row whose parent is in the trash is refused, and changes nothing
SELECT id, project_id FROM softdelete.trash(NULL::tasks);
DELETE FROM projects WHERE id = 2;
\set VERBOSITY default
SELECT softdelete.restore('tasks', 20);      -- fails: project 2 is in the trash
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.restore('comments', 120);  -- fails: task 12 is in the trash
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS tasks_trashed FROM softdelete.trash(NULL::tasks);
-- restore the parent first, then it works
SELECT softdelete.restore('tasks', 12);      -- project 1 is live: task 12 and comment 120
SELECT softdelete.restore('comments', 120);  -- 0: it came back with task 12
SELECT id FROM comments ORDER BY id;

-- Django's collector deletes children itself, then the parent, in one
-- transaction: one stamp, so one restore brings all of it back
BEGIN;
DELETE FROM comments WHERE task_id IN (SELECT id FROM tasks WHERE project_id = 1);
DELETE FROM tasks WHERE project_id = 1;
DELETE FROM projects WHERE id = 1;
COMMIT;
SELECT softdelete.restore('projects', 1);
SELECT (SELECT count(*) FROM tasks) AS tasks, (SELECT count(*) FROM comments) AS comments;

-- a cascaded restore that would break a unique index fails as a whole
CREATE UNIQUE INDEX tasks_live_title ON tasks (title) WHERE deleted_at IS NULL;
DELETE FROM projects WHERE id = 1;
-- task 13 takes title 'a'; it goes under a live project 3, since a new
-- row may no longer reference a trashed one (issue 13)
INSERT INTO projects VALUES (3);
INSERT INTO tasks VALUES (13, 3, 'a');
\set SHOW_CONTEXT never
SELECT softdelete.restore('projects', 1);    -- fails: task 10 'a'
\echo :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors
SELECT count(*) AS projects_trashed FROM softdelete.trash(NULL::projects);
SELECT count(*) AS tasks_trashed FROM softdelete.trash(NULL::tasks);

-- an array of keys restores every row it names, each with exactly what
-- its own deletion took (two deletions here, two stamps)
DROP INDEX tasks_live_title;
DELETE FROM tasks WHERE id = 13;
SELECT softdelete.restore('projects', ARRAY[1]);   -- project 1 and its rows
DELETE FROM projects WHERE id = 1;                  -- deletion A
DELETE FROM tasks WHERE id = 20;                    -- (already trashed with project 2)
SELECT softdelete.restore('projects', ARRAY[1, 2, 4]);  -- both deletions; 4 does not exist
SELECT (SELECT count(*) FROM projects) AS projects, (SELECT count(*) FROM tasks) AS tasks,
       (SELECT count(*) FROM comments) AS comments;
SELECT id FROM softdelete.trash(NULL::tasks) ORDER BY id;
-- soft_delete and hard_delete take arrays too
SELECT softdelete.soft_delete('comments', ARRAY[100, 110]);
SELECT softdelete.hard_delete('comments', ARRAY[100, 110, 120]);
SELECT id FROM softdelete.with_trash(NULL::comments) ORDER BY id;

-- restore skips the parent check along the key it walked (those parents
-- it has just restored) only while no user trigger runs: here one trashes
-- the parent again as its row comes back (ON DELETE SET NULL leaves the
-- row), and the restore is refused
CREATE TABLE pp (id int PRIMARY KEY);
CREATE TABLE cc (id int PRIMARY KEY, pp_id int REFERENCES pp ON DELETE SET NULL);
INSERT INTO pp VALUES (1);
INSERT INTO cc VALUES (1, 1);
SELECT softdelete.enable('pp'), softdelete.enable('cc');
BEGIN;
DELETE FROM cc WHERE id = 1;
DELETE FROM pp WHERE id = 1;
COMMIT;
CREATE FUNCTION retrash() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL THEN
        DELETE FROM pp WHERE id = NEW.pp_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER retrash AFTER UPDATE ON cc FOR EACH ROW EXECUTE FUNCTION retrash();
\set SHOW_CONTEXT never
SELECT softdelete.restore('pp', 1);    -- fails: pp 1 is in the trash again
\echo :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors
SELECT id, deleted_at IS NULL AS live FROM softdelete.with_trash(NULL::pp);
SELECT id, pp_id, deleted_at IS NULL AS live FROM softdelete.with_trash(NULL::cc);
DROP TRIGGER retrash ON cc;
SELECT softdelete.restore('pp', 1);    -- 2: pp 1 and cc 1
DROP TABLE cc, pp;
DROP FUNCTION retrash();

DROP TABLE comments, tasks, projects;
RESET ROLE;
