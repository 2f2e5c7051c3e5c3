import Foundation
import GRDB

extension AppDatabase {
    /// The claim candidate query of DESIGN.md §3 (oldest queued run not being canceled). Tests check its plan.
    public static let nextQueuedRunSQL = """
        SELECT id FROM runs
        WHERE status = 'queued' AND cancel_requested_at IS NULL
        ORDER BY started_at
        LIMIT 1
        """

    /// The id of the run a worker would claim next, if any. Read-only: the atomic claim arrives with the runs issue.
    public func nextQueuedRunID() async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(db, sql: Self.nextQueuedRunSQL)
        }
    }
}
