// Targets: where snapshots are written and read (docs/targets.md). `TargetStore` is one run's collection on a
// `local_dir`, WebDAV or rclone target; `TargetStores.open` makes the right one from a `RunLocation` and its secret.
