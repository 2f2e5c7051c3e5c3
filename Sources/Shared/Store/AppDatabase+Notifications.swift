import Core
import Foundation
import GRDB
import Secrets

/// A notification a worker claimed (`sending`), with everything needed to send it, read in the claim transaction.
public struct NotificationDelivery: Sendable {
    public var record: NotificationRecord
    public var settings: NotificationSettings
    /// The destination's switch; nil when the destination was deleted.
    public var destinationEnabled: Bool?
    public var sealedConfig: SecretBox.Sealed?
    public var run: Run?
    public var jobName: String?
    /// A ping row's `payload_json`: `{url, event}`.
    public var ping: JSONValue? = nil
}

/// How one delivery attempt ended.
public enum DeliveryOutcome: Sendable, Equatable {
    case sent
    case failed(String)
    /// Not sent and never will be (switched off, destination gone).
    case canceled(String)
}

/// What a retry-now or cancel request found.
public enum NotificationChange: Sendable {
    case changed(NotificationRecord)
    case notFound
    case invalidState(NotificationStatus)
}

extension AppDatabase {
    // MARK: - Settings and destinations

    static func fetchNotificationSettings(_ db: Database) throws -> NotificationSettings {
        let stored = try String.fetchOne(db.cachedStatement(sql: "SELECT value_json FROM settings WHERE key = 'notifications'"))
        guard let stored, let value = try? JSONValue.parse(stored) else { return NotificationSettings() }
        return (try? NotificationSettings.parse(value)) ?? NotificationSettings()
    }

    public func notificationSettings() async throws -> NotificationSettings {
        try await pool.read { db in try Self.fetchNotificationSettings(db) }
    }

    public func saveNotificationSettings(_ settings: NotificationSettings, now: Int64 = unixNow()) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO settings (key, value_json, updated_at) VALUES ('notifications', ?, ?)
                    ON CONFLICT (key) DO UPDATE SET value_json = excluded.value_json, updated_at = excluded.updated_at
                    """,
                arguments: [settings.json.jsonString(), now]
            )
        }
    }

    public func notificationDestinations() async throws -> [NotificationDestination] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT channel, name, enabled, created_at, updated_at FROM notification_destinations ORDER BY channel, name")
                .compactMap(Self.destination)
        }
    }

    public func notificationDestination(channel: NotificationChannel, name: String) async throws -> NotificationDestination? {
        try await pool.read { db in try Self.fetchDestination(db, channel: channel, name: name) }
    }

    /// Creates or replaces a destination: its switch row and its encrypted secret, in one transaction. A new
    /// destination is enabled unless `enabled` says otherwise; an existing one keeps its switch.
    public func saveNotificationDestination(
        channel: NotificationChannel,
        name: String,
        sealed: SecretBox.Sealed,
        enabled: Bool?,
        now: Int64 = unixNow()
    ) async throws -> NotificationDestination {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO notification_destinations (channel, name, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (channel, name) DO UPDATE SET enabled = COALESCE(?, enabled), updated_at = excluded.updated_at
                    """,
                arguments: [channel.rawValue, name, enabled ?? true, now, now, enabled]
            )
            try Self.upsertSecret(db, kind: channel.rawValue, name: name, sealed: sealed, now: now)
            return try Self.fetchDestination(db, channel: channel, name: name)!
        }
    }

    /// Flips a destination's switch; nil when there is no such destination.
    public func setNotificationDestinationEnabled(
        channel: NotificationChannel,
        name: String,
        enabled: Bool,
        now: Int64 = unixNow()
    ) async throws -> NotificationDestination? {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE notification_destinations SET enabled = ?, updated_at = ? WHERE channel = ? AND name = ?",
                arguments: [enabled, now, channel.rawValue, name]
            )
            return try Self.fetchDestination(db, channel: channel, name: name)
        }
    }

    /// Deletes a destination and its secret. Queued notifications to it are canceled when their turn comes.
    public func deleteNotificationDestination(channel: NotificationChannel, name: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM notification_destinations WHERE channel = ? AND name = ?", arguments: [channel.rawValue, name])
            let deleted = db.changesCount > 0
            try db.execute(sql: "DELETE FROM secrets WHERE node_id = 'hub' AND kind = ? AND name = ?", arguments: [channel.rawValue, name])
            return deleted
        }
    }

    /// The encrypted address of a destination.
    public func notificationDestinationSecret(channel: NotificationChannel, name: String) async throws -> SecretBox.Sealed? {
        try await pool.read { db in try Self.fetchSecret(db, kind: channel.rawValue, name: name) }
    }

    /// Creates or replaces the hub's secret `kind`/`name` (the row keeps its id and creation time).
    static func upsertSecret(_ db: Database, kind: String, name: String, sealed: SecretBox.Sealed, now: Int64) throws {
        try db.execute(
            sql: """
                INSERT INTO secrets (id, node_id, kind, name, kid, nonce, ciphertext, created_at, updated_at)
                VALUES (?, 'hub', ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (kind, node_id, name) DO UPDATE SET
                  kid = excluded.kid, nonce = excluded.nonce, ciphertext = excluded.ciphertext, updated_at = excluded.updated_at
                """,
            arguments: [UUID().uuidString.lowercased(), kind, name, sealed.kid, sealed.nonce, sealed.ciphertext, now, now]
        )
    }

    static func fetchSecret(_ db: Database, kind: String, name: String) throws -> SecretBox.Sealed? {
        try Row.fetchOne(
            db,
            sql: "SELECT kid, nonce, ciphertext FROM secrets WHERE node_id = 'hub' AND kind = ? AND name = ?",
            arguments: [kind, name]
        )
        .map { SecretBox.Sealed(kid: $0[0], nonce: $0[1], ciphertext: $0[2]) }
    }

    static func fetchDestination(_ db: Database, channel: NotificationChannel, name: String) throws -> NotificationDestination? {
        try Row.fetchOne(
            db,
            sql: "SELECT channel, name, enabled, created_at, updated_at FROM notification_destinations WHERE channel = ? AND name = ?",
            arguments: [channel.rawValue, name]
        ).flatMap(Self.destination)
    }

    static func destination(_ row: Row) -> NotificationDestination? {
        guard let channel = NotificationChannel(rawValue: row[0]) else { return nil }
        return NotificationDestination(channel: channel, name: row[1], enabled: row[2], createdAt: row[3], updatedAt: row[4])
    }

    // MARK: - Enqueue (inside the transaction that finishes a run)

    /// Queues one notification per destination this run should notify: every enabled destination (`inherit`) or the
    /// job's chosen ones that are enabled (`custom`), gated by the global and channel switches. Runs inside the
    /// transaction that writes the run's terminal status, so a finished run and its notifications commit together.
    /// After COMMIT `wake(.notifications)` is called. Costs one indexed read when no destination is enabled.
    static func enqueueNotifications(_ db: Database, runId: String, jobId: String, now: Int64, after: inout AfterCommit) throws {
        let destinations = try Row.fetchAll(db.cachedStatement(sql: "SELECT channel, name FROM notification_destinations WHERE enabled = 1"))
        guard !destinations.isEmpty else { return }
        let settings = try fetchNotificationSettings(db)
        guard settings.enabled else { return }
        let spec = try String.fetchOne(db.cachedStatement(sql: "SELECT spec_json FROM jobs WHERE id = ?"), arguments: [jobId])
        var choice = JobNotifications()
        if let spec, case .object(let root)? = try? JSONValue.parse(spec), let section = root["notifications"] {
            choice = (try? JobNotifications.parse(section)) ?? JobNotifications()
        }
        let insert = try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO notifications (id, run_id, channel, secret_name, status, attempts, next_attempt_at, created_at, updated_at)
                VALUES (?, ?, ?, ?, 'queued', 0, ?, ?, ?)
                """
        )
        var inserted = 0
        for row in destinations {
            let channelName: String = row[0]
            let name: String = row[1]
            guard let channel = NotificationChannel(rawValue: channelName), settings.allows(channel),
                choice.includes(channel: channelName, destination: name)
            else { continue }
            try insert.execute(arguments: [UUID().uuidString.lowercased(), runId, channelName, name, now, now, now])
            inserted += db.changesCount
        }
        if inserted > 0 {
            after.wake(.notifications)
        }
    }

    /// Queues the job's pings for `event` of a backup run (docs/architecture.md, "Notifications"): one `ping` row per
    /// ping that takes the event, carrying its URL; `start` in the claim's transaction, `success`/`failure` in the one
    /// that writes the terminal status. Pings are the job's own: the notification switches do not gate them. A row
    /// already there (a run claimed again after a graceful hand-back) is kept (`INSERT OR IGNORE`).
    static func enqueuePings(
        _ db: Database,
        runId: String,
        jobId: String,
        pings known: JobPings? = nil,
        event: JobPings.Event,
        now: Int64,
        after: inout AfterCommit
    ) throws {
        var pings = known
        if pings == nil {
            guard let spec = try String.fetchOne(db.cachedStatement(sql: "SELECT spec_json FROM jobs WHERE id = ?"), arguments: [jobId]),
                spec.contains("\"pings\""), case .object(let root)? = try? JSONValue.parse(spec)
            else { return }
            pings = try? JobPings.parse(root["pings"])
        }
        guard let pings, !pings.isEmpty else { return }
        let insert = try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO notifications
                  (id, run_id, channel, secret_name, status, attempts, next_attempt_at, created_at, updated_at, payload_json, ping_order)
                VALUES (?, ?, 'ping', ?, 'queued', 0, ?, ?, ?, ?, ?)
                """
        )
        var inserted = 0
        for (index, ping) in pings.pings.enumerated() {
            guard let url = ping.url(for: event) else { continue }
            let payload: JSONValue = .object(["url": .string(url), "event": .string(event.rawValue)])
            try insert.execute(arguments: [
                UUID().uuidString.lowercased(), runId, "pings.\(index).\(event.rawValue)", now, now, now, payload.jsonString(), event.order,
            ])
            inserted += db.changesCount
        }
        if inserted > 0 { after.wake(.notifications) }
    }

    // MARK: - Delivery (worker side)

    /// A queued row that must wait: a ping of a run whose earlier ping (lower `ping_order`) is still queued or being
    /// sent, so one run's pings arrive in order (start before success or failure).
    static let pingWaitsSQL = """
        (notifications.channel = 'ping' AND EXISTS (
          SELECT 1 FROM notifications AS earlier WHERE earlier.run_id = notifications.run_id AND earlier.channel = 'ping'
            AND earlier.ping_order < notifications.ping_order AND earlier.status IN ('queued', 'sending')))
        """

    /// The claim of the next due notification, as the hot-query checks see it (docs/architecture.md, "Database").
    public static let nextDueNotificationSQL = """
        SELECT id FROM notifications WHERE status = 'queued' AND next_attempt_at <= ? AND NOT \(pingWaitsSQL)
        ORDER BY next_attempt_at LIMIT 1
        """

    /// When the delivery loop must wake: the earliest due time of a queued row that is not waiting for another.
    public static let nextNotificationDueSQL = """
        SELECT MIN(next_attempt_at) FROM notifications WHERE status = 'queued' AND NOT \(pingWaitsSQL)
        """

    static let notificationColumns = "id, run_id, channel, secret_name, status, attempts, next_attempt_at, created_at, updated_at, last_error"

    static func notification(_ row: Row) -> NotificationRecord {
        NotificationRecord(
            id: row[0],
            runId: row[1],
            channel: row[2],
            destination: row[3],
            status: NotificationStatus(rawValue: row[4]) ?? .failed,
            attempts: row[5],
            nextAttemptAt: row[6],
            createdAt: row[7],
            updatedAt: row[8],
            lastError: row[9]
        )
    }

    /// Claims the notification due first with one `UPDATE … RETURNING` (status `sending`, `updated_at = now`) and
    /// reads what sending it needs, in the same transaction. Nil when nothing is due.
    public func claimDueNotification(now: Int64 = unixNow()) async throws -> NotificationDelivery? {
        try await pool.write { db in
            let claim = try db.cachedStatement(
                sql: """
                    UPDATE notifications SET status = 'sending', updated_at = ?
                    WHERE id = (\(Self.nextDueNotificationSQL))
                    RETURNING \(Self.notificationColumns)
                    """
            )
            guard let row = try Row.fetchOne(claim, arguments: [now, now]) else { return nil }
            let record = Self.notification(row)
            let channel = NotificationChannel(rawValue: record.channel)
            let destination = try channel.flatMap { try Self.fetchDestination(db, channel: $0, name: record.destination) }
            let run = try Self.fetchRun(db, id: record.runId)
            let jobName = try run.flatMap { try String.fetchOne(db, sql: "SELECT name FROM jobs WHERE id = ?", arguments: [$0.jobId]) }
            var ping: JSONValue?
            if record.channel == NotificationRecord.pingChannel {
                ping = try String.fetchOne(db, sql: "SELECT payload_json FROM notifications WHERE id = ?", arguments: [record.id])
                    .flatMap { try? JSONValue.parse($0) }
            }
            return NotificationDelivery(
                record: record,
                settings: try Self.fetchNotificationSettings(db),
                destinationEnabled: destination?.enabled,
                sealedConfig: try Self.fetchSecret(db, kind: record.channel, name: record.destination),
                run: run,
                jobName: jobName,
                ping: ping
            )
        }
    }

    /// Records how an attempt ended, fenced on the claim (`sending` with the claim's `updated_at` and attempts), with a
    /// `notify_sent` or `notify_failed` run event. A failure is retried after `NotificationRetry.delay` until the 10th
    /// attempt, then `failed`. Returns the new status; nil when the claim was taken away (re-queued as stuck).
    @discardableResult
    public func finishNotification(
        _ delivery: NotificationDelivery,
        outcome: DeliveryOutcome,
        now: Int64 = unixNow()
    ) async throws
        -> NotificationStatus?
    {
        let record = delivery.record
        return try await write { db, after -> NotificationStatus? in
            let fence = "id = ? AND status = 'sending' AND updated_at = ? AND attempts = ?"
            let fenceArguments: StatementArguments = [record.id, record.updatedAt, record.attempts]
            var fields: [String: JSONValue] = [
                "notification_id": .string(record.id), "channel": .string(record.channel), "destination": .string(record.destination),
                "attempt": .number(Double(record.attempts + 1)),
            ]
            let status: NotificationStatus
            let event: NewRunEvent?
            switch outcome {
            case .sent:
                status = .sent
                try db.execute(
                    sql: "UPDATE notifications SET status = 'sent', attempts = attempts + 1, updated_at = ?, last_error = NULL WHERE \(fence)",
                    arguments: [now] + fenceArguments
                )
                event = NewRunEvent(
                    kind: "notify_sent",
                    message: "Notification sent to \(record.channel)/\(record.destination)",
                    fields: .object(fields)
                )
            case .canceled(let reason):
                status = .canceled
                try db.execute(
                    sql: "UPDATE notifications SET status = 'canceled', updated_at = ?, last_error = ? WHERE \(fence)",
                    arguments: [now, reason] + fenceArguments
                )
                event = nil
            case .failed(let error):
                let attempts = record.attempts + 1
                fields["error"] = .string(error)
                if attempts >= NotificationRetry.maxAttempts {
                    status = .failed
                    fields["gave_up"] = .bool(true)
                    try db.execute(
                        sql: "UPDATE notifications SET status = 'failed', attempts = ?, updated_at = ?, last_error = ? WHERE \(fence)",
                        arguments: [attempts, now, error] + fenceArguments
                    )
                    event = NewRunEvent(
                        .warn,
                        kind: "notify_failed",
                        message: "Notification to \(record.channel)/\(record.destination) failed after \(attempts) attempts: \(error)",
                        fields: .object(fields)
                    )
                } else {
                    status = .queued
                    let delay = NotificationRetry.delay(afterAttempts: attempts)
                    fields["retry_in_seconds"] = .number(Double(delay))
                    fields["next_attempt_at"] = .number(Double(now + delay))
                    try db.execute(
                        sql: """
                            UPDATE notifications SET status = 'queued', attempts = ?, next_attempt_at = ?, updated_at = ?, last_error = ?
                            WHERE \(fence)
                            """,
                        arguments: [attempts, now + delay, now, error] + fenceArguments
                    )
                    event = NewRunEvent(
                        .warn,
                        kind: "notify_failed",
                        message:
                            "Notification to \(record.channel)/\(record.destination) failed (attempt \(attempts)); retrying in \(delay) s: \(error)",
                        fields: .object(fields)
                    )
                }
            }
            guard db.changesCount == 1 else { return nil }
            if status == .queued { after.wake(.notifications) }
            if let event { try Self.insertEvents(db, runId: record.runId, [event], now: now, after: &after) }
            return status
        }
    }

    /// The earliest `next_attempt_at` of a queued notification: when the delivery loop must wake.
    public func nextNotificationDue() async throws -> Int64? {
        try await pool.read { db in
            try Int64.fetchOne(db.cachedStatement(sql: Self.nextNotificationDueSQL))
        }
    }

    // MARK: - Recovery (janitor)

    /// Re-queues notifications stuck in `sending` for longer than `leaseSeconds` (their worker died mid-send): the
    /// interrupted attempt counts, with a `notify_failed` event; the 10th becomes `failed`. Returns their ids.
    public func requeueStuckNotifications(leaseSeconds: Int64, now: Int64 = unixNow()) async throws -> [String] {
        try await write { db, after -> [String] in
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT \(Self.notificationColumns) FROM notifications WHERE status = 'sending' AND updated_at < ?",
                arguments: [now - leaseSeconds]
            )
            for record in rows.map(Self.notification) {
                let attempts = record.attempts + 1
                let gaveUp = attempts >= NotificationRetry.maxAttempts
                try db.execute(
                    sql: """
                        UPDATE notifications SET status = ?, attempts = ?, next_attempt_at = ?, updated_at = ?, last_error = 'worker_lost'
                        WHERE id = ? AND status = 'sending'
                        """,
                    arguments: [gaveUp ? "failed" : "queued", attempts, now, now, record.id]
                )
                try Self.insertEvents(
                    db,
                    runId: record.runId,
                    [
                        NewRunEvent(
                            .warn,
                            kind: "notify_failed",
                            message: "Notification to \(record.channel)/\(record.destination) was interrupted (its worker was lost)"
                                + (gaveUp ? "; giving up" : "; queued again"),
                            fields: .object([
                                "notification_id": .string(record.id), "channel": .string(record.channel),
                                "destination": .string(record.destination), "attempt": .number(Double(attempts)),
                                "error": .string("worker_lost"), "gave_up": .bool(gaveUp),
                            ])
                        )
                    ],
                    now: now,
                    after: &after
                )
            }
            if !rows.isEmpty { after.wake(.notifications) }
            return rows.map { $0[0] }
        }
    }

    /// When the oldest `sending` notification's lease expires, if any is being sent.
    public func nextStuckNotificationExpiry(leaseSeconds: Int64) async throws -> Int64? {
        try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT MIN(updated_at) FROM notifications WHERE status = 'sending'").map { $0 + leaseSeconds }
        }
    }

    // MARK: - Queue (API side)

    /// Keyset page of the queue, newest first, optionally filtered by status and channel. `before` is the last
    /// item's `(created_at, id)` of the previous page.
    public func notifications(
        status: NotificationStatus?,
        channel: String?,
        before: (createdAt: Int64, id: String)?,
        limit: Int
    ) async throws -> [NotificationRecord] {
        try await pool.read { db in
            var conditions = SQLConditions()
            if let status { conditions.add("status = ?", [status.rawValue]) }
            if let channel { conditions.add("channel = ?", [channel]) }
            if let before { conditions.add("(created_at < ? OR (created_at = ? AND id < ?))", [before.createdAt, before.createdAt, before.id]) }
            return try Row.fetchAll(
                db,
                sql:
                    "SELECT \(Self.notificationColumns) FROM notifications \(conditions.whereClause) ORDER BY created_at DESC, id DESC LIMIT \(limit)",
                arguments: conditions.arguments
            ).map(Self.notification)
        }
    }

    /// Makes a queued, failed or canceled notification due now (a failed one gets one more attempt).
    public func retryNotificationNow(id: String, now: Int64 = unixNow()) async throws -> NotificationChange {
        try await changeNotification(id: id, from: [.queued, .failed, .canceled]) { db in
            try db.execute(
                sql: "UPDATE notifications SET status = 'queued', next_attempt_at = ?, updated_at = ? WHERE id = ?",
                arguments: [now, now, id]
            )
        }
    }

    /// Cancels a queued notification.
    public func cancelNotification(id: String, now: Int64 = unixNow()) async throws -> NotificationChange {
        try await changeNotification(id: id, from: [.queued]) { db in
            try db.execute(
                sql: "UPDATE notifications SET status = 'canceled', updated_at = ?, last_error = 'canceled by user' WHERE id = ?",
                arguments: [now, id]
            )
        }
    }

    private func changeNotification(
        id: String,
        from allowed: Set<NotificationStatus>,
        _ change: @escaping @Sendable (Database) throws -> Void
    ) async throws -> NotificationChange {
        try await write { db, after in
            let select = "SELECT \(Self.notificationColumns) FROM notifications WHERE id = ?"
            guard let current = try Row.fetchOne(db, sql: select, arguments: [id]).map(Self.notification) else { return .notFound }
            guard allowed.contains(current.status) else { return .invalidState(current.status) }
            try change(db)
            let changed = try Row.fetchOne(db, sql: select, arguments: [id]).map(Self.notification)!
            // A queued notification is work for a worker's delivery loop.
            if changed.status == .queued { after.wake(.notifications) }
            return .changed(changed)
        }
    }
}
