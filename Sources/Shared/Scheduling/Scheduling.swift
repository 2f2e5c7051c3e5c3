// Scheduling: cron triggers to enqueued runs (`Scheduler`), with misfire grace and one run per trigger however many
// workers fire it. Map: docs/architecture.md, "Scheduling".
