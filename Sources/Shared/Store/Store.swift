// Store: the database. `AppDatabase` owns every transaction (named after the invariant it keeps), the frozen
// migrations, and `SQLiteFileCopy` for reading users' SQLite files; the only room that imports GRDB. A write records
// in its `AfterCommit` what others must learn; who tells them is the process's publisher. Map:
// docs/architecture.md, "Database", "Runs" and "After COMMIT".
