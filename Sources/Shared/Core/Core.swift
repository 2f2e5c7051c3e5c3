// Core: the vocabulary every other room speaks. Model values (jobs, runs, run events, progress, specs, retention),
// JSON (`JSONValue`, its strict parser and writer, `JSONValueEncoder` for API responses), options and the data
// directory, clocks, cron expressions, `WakeSignal`, and the after-COMMIT contract (`AfterCommit`,
// `AfterCommitPublisher`). No disk, database or network here. Map: docs/architecture.md, "Rooms".
