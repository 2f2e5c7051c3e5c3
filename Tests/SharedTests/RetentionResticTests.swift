import Foundation
import Testing

@testable import Core

/// `RetentionPolicy.decide` against restic's own `forget --dry-run` (docs/retention.md, "Checked against restic"):
/// a real restic repository with snapshots over two years in Europe/Berlin and America/New_York (every 16 days at a
/// drifting hour, every 40 minutes for 3 hours either side of each DST change, both readings of the repeated hour, New Year's Eve, and a
/// `keep_within` edge across a change), then for each rule set the same kept set and, snapshot by snapshot, the same
/// rules. restic before 0.16 has no `-1` (a count larger than the snapshots stands in) and before 0.18 does not keep
/// the oldest snapshot while a rule has counts left (its JSON's counters say which rules had, and the test adds it).
@Suite(.serialized) struct RetentionResticTests {
    static let restic = "/usr/bin/restic"

    /// A restic repository in a temporary directory, run with a password file and no cache.
    struct Repository {
        let directory: URL
        var repository: URL { directory.appendingPathComponent("repo") }
        var data: URL { directory.appendingPathComponent("data") }

        func process(_ arguments: [String], zone: String) throws -> (Process, Pipe, Pipe) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: RetentionResticTests.restic)
            process.arguments =
                ["--no-cache", "--repo", repository.path, "--password-file", directory.appendingPathComponent("password").path] + arguments
            var environment = ProcessInfo.processInfo.environment
            environment["TZ"] = zone
            environment["HOME"] = directory.path
            process.environment = environment
            let output = Pipe()
            let errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            return (process, output, errors)
        }

        @discardableResult
        func run(_ arguments: [String], zone: String = "UTC") throws -> Data {
            let (process, output, errors) = try self.process(arguments, zone: zone)
            let data = output.fileHandleForReading.readDataToEndOfFile()
            let message = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw ResticFailed(arguments: arguments, status: process.terminationStatus, stderr: String(decoding: message, as: UTF8.self))
            }
            return data
        }

        /// Backs up the data directory once per instant, recorded with the zone's offset at that instant (restic reads
        /// `--time` in `TZ`; a whole-hour `Etc/GMT±N` zone makes each reading unambiguous), four at a time.
        func backups(_ instants: [Int64], host: String, zone: TimeZone) throws {
            for batch in stride(from: 0, to: instants.count, by: 4).map({ Array(instants[$0..<min($0 + 4, instants.count)]) }) {
                let running = try batch.map { instant -> (Process, Pipe, Pipe) in
                    let date = Date(timeIntervalSince1970: TimeInterval(instant))
                    let hours = zone.secondsFromGMT(for: date) / 3600
                    let formatter = DateFormatter()
                    formatter.locale = Locale(identifier: "en_US_POSIX")
                    formatter.timeZone = zone
                    formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
                    let fixed = hours == 0 ? "UTC" : "Etc/GMT\(hours > 0 ? "-" : "+")\(abs(hours))"
                    return try process(["backup", "--quiet", "--host", host, "--time", formatter.string(from: date), data.path], zone: fixed)
                }
                for (process, output, errors) in running {
                    _ = output.fileHandleForReading.readDataToEndOfFile()
                    let message = errors.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    guard process.terminationStatus == 0 else {
                        throw ResticFailed(arguments: ["backup"], status: process.terminationStatus, stderr: String(decoding: message, as: UTF8.self))
                    }
                }
            }
        }
    }

    struct ResticFailed: Error, CustomStringConvertible {
        var arguments: [String]
        var status: Int32
        var stderr: String
        var description: String { "restic \(arguments.joined(separator: " ")) exited \(status): \(stderr)" }
    }

    /// restic's key derivation (scrypt, calibrated to half a second at `init`) dominates each command's time; like
    /// restic's own tests (`TestUseLowSecurityKDFParameters`), the repository's key is replaced by one for the same
    /// master key and password with cheap scrypt parameters (restic's key file format: AES-256-CTR and Poly1305-AES).
    /// Without python3's `cryptography` the slow key stays and the test only takes longer.
    static let cheapKey = """
        import base64, hashlib, json, os, sys
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        from cryptography.hazmat.primitives.poly1305 import Poly1305
        repo, password, master = sys.argv[1], open(sys.argv[2], 'rb').read().rstrip(b'\\n'), open(sys.argv[3], 'rb').read()
        salt, n, r, p = os.urandom(64), 1024, 8, 1
        derived = hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=64 << 20, dklen=64)
        iv = os.urandom(16)
        ciphertext = Cipher(algorithms.AES(derived[:32]), modes.CTR(iv)).encryptor().update(master)
        s = Cipher(algorithms.AES(derived[32:48]), modes.ECB()).encryptor().update(iv)
        tag = Poly1305.generate_tag(derived[48:64] + s, ciphertext)
        body = json.dumps({"created": "2026-01-01T00:00:00Z", "username": "test", "hostname": "test", "kdf": "scrypt", "N": n, "r": r,
                           "p": p, "salt": base64.b64encode(salt).decode(), "data": base64.b64encode(iv + ciphertext + tag).decode()}).encode()
        keys = os.path.join(repo, "keys")
        old = os.listdir(keys)
        open(os.path.join(keys, hashlib.sha256(body).hexdigest()), "wb").write(body)
        for name in old: os.remove(os.path.join(keys, name))
        """

    static func makeRepository() throws -> Repository {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bastion-restic-\(UUID().uuidString)")
        let repository = Repository(directory: directory)
        try FileManager.default.createDirectory(at: repository.data, withIntermediateDirectories: true)
        try Data("restic-password\n".utf8).write(to: directory.appendingPathComponent("password"))
        try Data("one small file\n".utf8).write(to: repository.data.appendingPathComponent("file"))
        try repository.run(["init", "--quiet"])
        try repository.run(["cat", "masterkey"]).write(to: directory.appendingPathComponent("masterkey"))
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = [
            "python3", "-c", cheapKey, repository.repository.path, directory.appendingPathComponent("password").path,
            directory.appendingPathComponent("masterkey").path,
        ]
        python.standardError = FileHandle.nullDevice
        try python.run()
        python.waitUntilExit()
        try FileManager.default.removeItem(at: directory.appendingPathComponent("masterkey"))
        return repository
    }

    /// The instant of a wall-clock reading in `zone` (Foundation's calendar: independent of `RetentionCalendar`).
    static func instant(_ zone: TimeZone, _ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int) -> Int64 {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let date = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute))!
        return Int64(date.timeIntervalSince1970)
    }

    /// Two years of snapshots; `changes` are the zone's DST changes (UTC).
    static func instants(_ zone: TimeZone, changes: [Int64]) -> [Int64] {
        let start: Int64 = 1_704_153_600  // 2024-01-02T00:00:00Z
        var instants: [Int64] = []
        for step in 0..<42 {  // to 19 October 2025: the newest is 12 November (below)
            let day: Int64 = start + Int64(step) * 16 * 86_400
            let hour = Int64((step * 7) % 24)
            let minute = Int64((step * 17) % 60)
            instants.append(day + hour * 3600 + minute * 60)
        }
        for change in changes {
            for step in -5...5 { instants.append(change + Int64(step) * 2400 + 600) }
        }
        instants += [
            instant(zone, 2024, 12, 31, 23, 30), instant(zone, 2025, 1, 1, 0, 30),
            // keep_within "23d" before the newest (12 November 10:00, standard time) is 20 October 10:00 (summer time).
            instant(zone, 2025, 10, 20, 9, 30), instant(zone, 2025, 10, 20, 10, 30), instant(zone, 2025, 11, 12, 10, 0),
        ]
        return Array(Set(instants)).sorted()
    }

    static let ruleSets: [[String: JSONValue]] = [
        ["keep_daily": 7, "keep_weekly": 4, "keep_monthly": 12, "keep_yearly": 3],
        ["keep_last": 3, "keep_hourly": 30],
        ["keep_hourly": -1],
        ["keep_daily": -1, "keep_weekly": -1],
        ["keep_monthly": -1, "keep_yearly": -1],
        ["keep_within": "23d"],
        ["keep_within": "1y2m3d4h", "keep_monthly": 6],
        ["keep_last": 10, "keep_daily": 20, "keep_weekly": 10, "keep_monthly": 20, "keep_yearly": 5],
        ["keep_within": "40d5h", "keep_weekly": 8, "keep_yearly": 1],
    ]

    /// restic's name of a rule in its JSON `matches` and `counters`.
    static let resticNames = [
        "keep_last": ("last snapshot", "last"), "keep_hourly": ("hourly snapshot", "hourly"), "keep_daily": ("daily snapshot", "daily"),
        "keep_weekly": ("weekly snapshot", "weekly"), "keep_monthly": ("monthly snapshot", "monthly"),
        "keep_yearly": ("yearly snapshot", "yearly"),
    ]

    static func version() throws -> (Int, Int) {
        let (process, output, _) = try Repository(directory: FileManager.default.temporaryDirectory).process(["version"], zone: "UTC")
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let numbers = text.split(separator: " ").dropFirst().first?.split(separator: ".").compactMap { Int($0) } ?? []
        return (numbers.first ?? 0, numbers.dropFirst().first ?? 0)
    }

    @Test(arguments: [
        ("Europe/Berlin", ["2024-03-31T01:00:00Z", "2024-10-27T01:00:00Z", "2025-03-30T01:00:00Z", "2025-10-26T01:00:00Z"]),
        ("America/New_York", ["2024-03-10T07:00:00Z", "2024-11-03T06:00:00Z", "2025-03-09T07:00:00Z", "2025-11-02T06:00:00Z"]),
    ])
    func sameKeptSetAsResticForget(_ zoneName: String, _ changes: [String]) throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.restic), "restic is needed: \(Self.restic)")
        let version = try Self.version()
        let unlimited: JSONValue = version >= (0, 16) ? -1 : 100_000
        let addsOldest = version < (0, 18)
        let zone = try #require(TimeZone(identifier: zoneName))
        let formatter = ISO8601DateFormatter()
        let instants = Self.instants(zone, changes: changes.map { Int64(formatter.date(from: $0)!.timeIntervalSince1970) })
        let repository = try Self.makeRepository()
        defer { try? FileManager.default.removeItem(at: repository.directory) }
        try repository.backups(instants, host: "bastion-test", zone: zone)

        // The snapshots as restic recorded them: its ids and times (RFC 3339 with the offset).
        let listed = try JSONValue.parse(String(decoding: try repository.run(["snapshots", "--json"], zone: zoneName), as: UTF8.self))
        let snapshots = try (listed.arrayValue ?? []).map { item in
            let time = try #require(item["time"]?.stringValue)
            let offset = time.hasSuffix("Z") ? "Z" : String(time.suffix(6))
            let date = try #require(formatter.date(from: String(time.prefix(19)) + offset), "\(time)")
            return RetentionPolicy.Snapshot(runId: try #require(item["id"]?.stringValue), endedAt: Int64(date.timeIntervalSince1970), pinned: false)
        }
        #expect(snapshots.count == instants.count && Set(snapshots.map(\.endedAt)) == Set(instants), "restic recorded every instant")
        let oldest = try #require(snapshots.min { $0.endedAt < $1.endedAt })

        for rules in Self.ruleSets {
            var arguments = ["forget", "--dry-run", "--json", "--host", "bastion-test"]
            for (key, value) in rules.sorted(by: { $0.key < $1.key }) {
                let flag = "--" + key.replacingOccurrences(of: "_", with: "-")
                arguments += [flag, value == -1 ? unlimited.jsonString() : value.stringValue ?? value.jsonString()]
            }
            let output = try JSONValue.parse(String(decoding: try repository.run(arguments, zone: zoneName), as: UTF8.self))
            let group = try #require(output.arrayValue?.first, "\(output)")
            var expected: [String: Set<String>] = [:]
            let kept = group["keep"]?.arrayValue ?? []
            let reasons = group["reasons"]?.arrayValue ?? []
            try #require(kept.count == reasons.count)
            for (snapshot, reason) in zip(kept, reasons) {
                let matches = (reason["matches"]?.arrayValue ?? []).compactMap(\.stringValue).map { match -> String in
                    let plain = match.hasPrefix("oldest ") ? String(match.dropFirst(7)) : match
                    if plain.hasPrefix("within ") { return "keep_within" }
                    return Self.resticNames.first { $0.value.0 == plain }?.key ?? plain
                }
                expected[try #require(snapshot["id"]?.stringValue)] = Set(matches)
            }
            if addsOldest {
                // restic 0.18 keeps the oldest snapshot for each rule with counts left when it gets there: the counters
                // after the last snapshot kept, plus what the oldest one took itself.
                let own = expected[oldest.runId] ?? []
                let counters = reasons.last?["counters"] ?? .object([:])
                let left = rules.keys.filter { rule in
                    guard let names = Self.resticNames[rule] else { return false }
                    if reasons.isEmpty { return rules[rule] != 0 }
                    return (counters[names.1]?.intValue ?? 0) + (own.contains(rule) ? 1 : 0) != 0
                }
                if !left.isEmpty || expected[oldest.runId] != nil { expected[oldest.runId] = own.union(left) }
            }

            let policy = try RetentionPolicy.parse(.object(rules.merging(["enabled": true]) { $1 }))
            let decisions = policy.decide(snapshots, now: unixNow(), timeZone: zone)
            let ours = Dictionary(uniqueKeysWithValues: decisions.filter(\.keep).map { ($0.snapshot.runId, Set($0.reasons)) })
            let times = Dictionary(uniqueKeysWithValues: snapshots.map { ($0.runId, $0.endedAt) })
            let ruleText = rules.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.jsonString())" }.joined(separator: " ")
            let describe = { (ids: Set<String>) in ids.map { "\(Date(timeIntervalSince1970: TimeInterval(times[$0] ?? 0)))" }.sorted() }
            #expect(
                Set(ours.keys) == Set(expected.keys),
                "\(zoneName) \(ruleText): only Bastion keeps \(describe(Set(ours.keys).subtracting(expected.keys))), only restic \(describe(Set(expected.keys).subtracting(ours.keys)))"
            )
            for (id, reasons) in ours where expected[id] != nil && expected[id] != reasons {
                Issue.record("\(zoneName) \(ruleText): \(describe([id])) kept by \(reasons.sorted()) here, by \(expected[id]!.sorted()) in restic")
            }
            #expect(!ours.isEmpty && ours.count < snapshots.count, "\(ruleText) keeps some and deletes some")
            print(
                "restic \(version) \(zoneName) \(ruleText): "
                    + "\(snapshots.count) snapshots, both keep \(ours.count)"
            )
        }
    }
}
