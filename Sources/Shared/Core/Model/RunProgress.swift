/// Where a running run is, as `runs.progress_json` stores it and the live WebSocket frame carries it (docs/formats.md,
/// "Run progress"): `{v: 1, kind, stage, ts, done, total?, rate_bps?, eta_seconds?}`. `done` and `total` count files,
/// directories and bytes (pages for SQLite's online copy); rate and ETA are present once a stage has two samples.
/// `stages` is the run's stage history so far (each stage once, with when it began), so a finished run still shows how
/// long each stage took.
public struct RunProgress: Sendable, Hashable {
    /// What has been (or will be) processed in the current stage; absent members are not counted in that stage.
    public struct Counts: Sendable, Hashable {
        public var files: Int64?
        public var dirs: Int64?
        public var bytes: Int64?
        public var pages: Int64?

        public init(files: Int64? = nil, dirs: Int64? = nil, bytes: Int64? = nil, pages: Int64? = nil) {
            self.files = files
            self.dirs = dirs
            self.bytes = bytes
            self.pages = pages
        }

        var json: JSONValue {
            var object: [String: JSONValue] = [:]
            for (key, value) in [("files", files), ("dirs", dirs), ("bytes", bytes), ("pages", pages)] {
                if let value { object[key] = .number(Double(value)) }
            }
            return .object(object)
        }

        init(json: JSONValue?) {
            func count(_ key: String) -> Int64? { json?[key]?.int64Value }
            self.init(files: count("files"), dirs: count("dirs"), bytes: count("bytes"), pages: count("pages"))
        }
    }

    /// When a stage began (unix milliseconds); the next mark, or the run's end, is when it ended.
    public struct StageMark: Sendable, Hashable {
        public var stage: String
        public var startedMs: Int64

        public init(stage: String, startedMs: Int64) {
            self.stage = stage
            self.startedMs = startedMs
        }
    }

    /// A progress value on its way to live subscribers.
    public struct Update: Sendable, Hashable {
        public var runId: String
        public var progress: RunProgress

        public init(runId: String, progress: RunProgress) {
            self.runId = runId
            self.progress = progress
        }
    }

    /// `backup`, `restore` or `verify`.
    public var kind: String
    /// `scan`, `build`, `upload`, `snapshot`, `restore`, `verify`, ...
    public var stage: String
    /// Unix seconds of the sample.
    public var ts: Int64
    public var done: Counts
    public var total: Counts?
    /// Bytes per second over the last interval of the same stage.
    public var rateBps: Int64?
    public var etaSeconds: Int64?
    /// The stages so far, oldest first; empty when the writer keeps no history.
    public var stages: [StageMark]

    public init(
        kind: String,
        stage: String,
        ts: Int64 = unixNow(),
        done: Counts,
        total: Counts? = nil,
        rateBps: Int64? = nil,
        etaSeconds: Int64? = nil,
        stages: [StageMark] = []
    ) {
        self.kind = kind
        self.stage = stage
        self.ts = ts
        self.done = done
        self.total = total
        self.rateBps = rateBps
        self.etaSeconds = etaSeconds
        self.stages = stages
    }

    /// The stored and transmitted form (version 1).
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "v": 1, "kind": .string(kind), "stage": .string(stage), "ts": .number(Double(ts)), "done": done.json,
        ]
        if let total { object["total"] = total.json }
        if let rateBps { object["rate_bps"] = .number(Double(rateBps)) }
        if let etaSeconds { object["eta_seconds"] = .number(Double(etaSeconds)) }
        if !stages.isEmpty {
            object["stages"] = .array(
                stages.map { .object(["stage": .string($0.stage), "started_ms": .number(Double($0.startedMs))]) }
            )
        }
        return .object(object)
    }

    /// Reads the stored form; nil when it is not a version-1 progress object.
    public init?(json: JSONValue) {
        guard json["v"]?.doubleValue == 1, case .string(let kind)? = json["kind"], case .string(let stage)? = json["stage"] else { return nil }
        self.init(
            kind: kind,
            stage: stage,
            ts: json["ts"]?.int64Value ?? 0,
            done: Counts(json: json["done"]),
            total: json["total"].map { Counts(json: $0) },
            rateBps: json["rate_bps"]?.int64Value,
            etaSeconds: json["eta_seconds"]?.int64Value,
            stages: json["stages"]?.arrayValue?.compactMap { mark in
                guard case .string(let stage)? = mark["stage"], let started = mark["started_ms"]?.int64Value else { return nil }
                return StageMark(stage: stage, startedMs: started)
            } ?? []
        )
    }
}
