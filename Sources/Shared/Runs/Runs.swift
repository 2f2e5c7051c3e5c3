// Runs: executing runs. The claim loop (`RunWorker`), heartbeats and fencing, `RunEventSink` (batched events),
// `ProgressReporter`, `JobExecutor` with `RunContext`, and the executors: `sqlite`, `filesystem`, restore and verify.
// Map: docs/architecture.md, "Path 1", "Runs" and "Backups".
