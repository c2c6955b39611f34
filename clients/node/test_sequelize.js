'use strict';
// softdelete under the Sequelize ORM (npm `sequelize`, PostgreSQL dialect).
//
// The models keep Sequelize's own soft delete off (`paranoid: false`, the
// default) and declare a nullable `deleted_at` column: sync() creates the
// tables as the application role, and the extension's event trigger enables
// them.  Sequelize then deletes as usual: Model.destroy({ where }) sends a
// plain DELETE and returns the row count the server reports; the association
// `onDelete: 'CASCADE'` becomes the foreign key's ON DELETE CASCADE, which
// the extension follows as a soft cascade.
//
//   node test_sequelize.js                  softdelete preloaded: true counts
//   node test_sequelize.js --not-preloaded  not preloaded: every delete is as
//                                           soft and as correct, but destroy()
//                                           returns 0 (the server says DELETE 0)

const { Sequelize, DataTypes, QueryTypes, ForeignKeyConstraintError } = require('sequelize');
const { run, sqlstate, preloaded } = require('./_common');

const PRELOADED = !process.argv.includes('--not-preloaded');
const version = require('sequelize/package.json').version;
const pgVersion = require('pg/package.json').version;
const mode = PRELOADED ? 'preloaded' : 'not preloaded';

run(`Sequelize ${version} (pg ${pgVersion}, ${mode})`, 'sequelize', async (t, sb) => {
  t.eq(await preloaded(), PRELOADED,
    `the server ${PRELOADED ? 'preloads' : 'does not preload'} softdelete`);
  // the count destroy() returns for n rows soft-deleted
  const n = (k) => (PRELOADED ? k : 0);

  const p = sb.params();
  const sequelize = new Sequelize(p.database, p.user, null, {
    dialect: 'postgres', host: p.host, port: p.port, logging: false,
  });
  try {
    // a nullable timestamptz named deleted_at: enabled by the event trigger
    const deletedAt = { type: DataTypes.DATE, allowNull: true, field: 'deleted_at' };
    const Author = sequelize.define('Author', {
      name: { type: DataTypes.STRING, allowNull: false }, deletedAt,
    }, { paranoid: false, underscored: true });
    const Book = sequelize.define('Book', {
      title: { type: DataTypes.STRING, allowNull: false }, deletedAt,
    }, { paranoid: false, underscored: true });
    const Loan = sequelize.define('Loan', {
      borrower: DataTypes.STRING, deletedAt,
    }, { paranoid: false, underscored: true });
    Author.hasMany(Book, { onDelete: 'CASCADE', hooks: true, foreignKey: { name: 'authorId', allowNull: false } });
    Book.belongsTo(Author, { foreignKey: 'authorId' });
    Book.hasMany(Loan, { onDelete: 'RESTRICT', foreignKey: { name: 'bookId', allowNull: false } });
    Loan.belongsTo(Book, { foreignKey: 'bookId' });
    await sequelize.sync();

    const enabled = await sequelize.query(
      'SELECT table_name::text AS t, column_name::text AS c FROM softdelete.tables ORDER BY 1',
      { type: QueryTypes.SELECT });
    t.eq(enabled, [{ t: 'authors', c: 'deleted_at' }, { t: 'books', c: 'deleted_at' },
      { t: 'loans', c: 'deleted_at' }], 'sync() created 3 tables, all enabled by the event trigger');

    const [ann, bob] = await Author.bulkCreate([{ name: 'ann' }, { name: 'bob' }]);
    await Book.bulkCreate([
      { title: 'a1', authorId: ann.id }, { title: 'a2', authorId: ann.id },
      { title: 'a3', authorId: ann.id }, { title: 'b1', authorId: bob.id },
      { title: 'b2', authorId: bob.id }, { title: 'x1', authorId: bob.id },
      { title: 'x2', authorId: bob.id }]);
    const titles = async () => (await Book.findAll({ order: [['title', 'ASC']] })).map((b) => b.title);
    const trash = async (table) => (await sequelize.query(
      `SELECT count(*)::int AS n FROM softdelete.trash(NULL::${table})`,
      { type: QueryTypes.SELECT }))[0].n;

    // ---- Model.destroy({ where }) -----------------------------------------
    let got = await Book.destroy({ where: { title: ['x1', 'x2'] } });
    t.eq(got, n(2), `Book.destroy({ where }) returns ${n(2)}`);
    t.eq(await titles(), ['a1', 'a2', 'a3', 'b1', 'b2'], 'findAll() no longer sees the 2 books');
    t.eq(await Book.count(), 5, 'count() counts live books only');
    t.eq(await trash('books'), 2, 'the 2 books are in the trash');
    got = await Book.destroy({ where: { title: ['x1', 'x2'] } });
    t.eq(got, 0, 'destroying them again: 0 (nothing live matched)');

    // ---- a transaction rolled back --------------------------------------------
    const tx = await sequelize.transaction();
    got = await Book.destroy({ where: { title: 'b2' }, transaction: tx });
    t.eq(got, n(1), `destroy() inside a transaction returns ${n(1)}`);
    await tx.rollback();
    t.eq(await titles(), ['a1', 'a2', 'a3', 'b1', 'b2'], 'rolled back: book b2 is live');
    t.eq(await trash('books'), 2, 'rolled back: the trash is as before');

    // ---- onDelete: 'CASCADE' in the database ------------------------------------
    got = await Author.destroy({ where: { name: 'ann' } });
    t.eq(got, n(1), `Author.destroy() returns ${n(1)}: the author only, as a hard delete would`);
    t.eq(await titles(), ['b1', 'b2'], "ann's 3 books are gone with her (soft cascade)");
    const same = await sequelize.query(
      `SELECT count(*)::int AS n FROM softdelete.trash(NULL::books) b
         JOIN softdelete.trash(NULL::authors) a ON a.id = b.author_id
        WHERE a.name = 'ann' AND b.deleted_at = a.deleted_at`, { type: QueryTypes.SELECT });
    t.eq(same[0].n, 3, "the 3 books carry their author's stamp");
    const [restored] = await sequelize.query('SELECT softdelete.restore(\'authors\', :id) AS n',
      { replacements: { id: ann.id }, type: QueryTypes.SELECT });
    t.eq(Number(restored.n), 4, 'softdelete.restore(authors, id) brings back 4 rows: ann and her books');
    t.eq(await Author.count(), 2, 'both authors are live');

    // ---- instance.destroy() with association hooks, in one transaction ----------
    // Sequelize destroys bob's books one by one, then bob: one deletion, one stamp.
    await sequelize.transaction(async (t2) => {
      const b = await Author.findOne({ where: { name: 'bob' }, transaction: t2 });
      await b.destroy({ transaction: t2 });
    });
    t.eq(await titles(), ['a1', 'a2', 'a3'], "bob.destroy(): bob's books went first (hooks: true)");
    const stamps = await sequelize.query(
      `SELECT count(DISTINCT deleted_at)::int AS n FROM (
         SELECT deleted_at FROM softdelete.trash(NULL::authors) WHERE name = 'bob'
         UNION ALL SELECT deleted_at FROM softdelete.trash(NULL::books) WHERE title LIKE 'b%') s`,
      { type: QueryTypes.SELECT });
    t.eq(stamps[0].n, 1, 'bob and the books Sequelize deleted one by one share one stamp');
    const [r2] = await sequelize.query('SELECT softdelete.restore(\'authors\', :id) AS n',
      { replacements: { id: bob.id }, type: QueryTypes.SELECT });
    t.eq(Number(r2.n), 3, "restore brings back bob and his 2 books, not x1/x2 deleted earlier");
    t.eq(await titles(), ['a1', 'a2', 'a3', 'b1', 'b2'], 'the books are back');

    // ---- onDelete: 'RESTRICT' -------------------------------------------------------
    const a1 = await Book.findOne({ where: { title: 'a1' } });
    await Loan.create({ borrower: 'cy', bookId: a1.id });
    const e = await t.rejects(() => Book.destroy({ where: { id: a1.id } }),
      'destroying a book with a live loan (RESTRICT) is refused',
      (err) => err instanceof ForeignKeyConstraintError);
    t.eq(sqlstate(e), '23503', 'ForeignKeyConstraintError, SQLSTATE 23503');
    t.eq(await Book.count(), 5, 'nothing changed');

    // ---- truncate: true is refused ------------------------------------------------
    const e2 = await t.rejects(() => Loan.destroy({ truncate: true }),
      'Loan.destroy({ truncate: true }) is refused (TRUNCATE would remove rows for real)');
    t.eq(sqlstate(e2), '55000', 'SQLSTATE 55000');
    t.eq(await Loan.count(), 1, 'the loan is still there');

    // ---- why paranoid must stay false ------------------------------------------------
    // Sequelize's own soft delete UPDATEs the column itself; the row-level
    // security filter does not let a row leave the visible set by UPDATE.
    const Note = sequelize.define('Note', { body: DataTypes.STRING },
      { paranoid: true, underscored: true, deletedAt: 'deletedAt' });
    await Note.sync();
    const note = await Note.create({ body: 'hi' });
    const e3 = await t.rejects(() => note.destroy(),
      'paranoid: true on a soft-deletable table: destroy() fails (its own UPDATE of deleted_at)',
      (err) => /row-level security/.test(err.message));
    t.eq(sqlstate(e3), '42501', 'SQLSTATE 42501: new row violates row-level security policy');
  } finally {
    await sequelize.close();
  }
});
