// Archive: the `archive_v1` snapshot format and everything that reads or writes it. Tar (pax, sparse, xattrs,
// names as bytes), zstd, age, BLAKE3, parts, the builder, the restore writer and the verifier. It never sees the
// database: runs hand it paths and get bytes, summaries and progress counters back. Map: docs/architecture.md,
// "Backups", and docs/formats.md.
