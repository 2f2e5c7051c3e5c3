import Glibc

/// What a Bastion process creates is its user's alone (docs/security.md, "Local users"): the database, its WAL, the
/// master key, staging, catalogs, and snapshots on a `local_dir` target hold what the backed-up files hold, whatever
/// their modes were. Every executable calls this first; a restore still gives each file its recorded mode explicitly.
public enum PrivateFiles {
    /// Sets the process umask to 077: new files 0600, new directories 0700.
    public static func restrictNewFiles() {
        umask(0o077)
    }
}
