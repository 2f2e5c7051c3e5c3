import Core
import Foundation

/// Which runs a list shows and where the page starts.
public struct RunListQuery: Sendable, Equatable {
    public enum Position: Sendable, Equatable {
        /// 1-based page number: `OFFSET` and a total count.
        case page(Int)
        /// The runs after this cursor (nil: the newest): an index range read at any depth, no count.
        case after(ListCursor?)
    }

    public var status: RunStatus?
    public var jobId: String?
    public var kind: RunKind?
    /// Runs of the jobs whose name contains this (case-insensitive for ASCII).
    public var jobName: String?
    public var pageSize: Int
    public var position: Position

    public init(
        status: RunStatus? = nil,
        jobId: String? = nil,
        kind: RunKind? = nil,
        jobName: String? = nil,
        pageSize: Int = 20,
        position: Position = .after(nil)
    ) {
        self.status = status
        self.jobId = jobId
        self.kind = kind
        self.jobName = jobName
        self.pageSize = pageSize
        self.position = position
    }
}

/// A page of the run list.
public struct RunListPage: Sendable {
    public var items: [(run: Run, jobName: String?)]
    /// Only for page-number queries.
    public var total: Int?
    /// Where the next page starts; nil on the last page.
    public var next: ListCursor?
}

/// A position in a newest-first list ordered by a time and then an id (runs: `started_at, id`; notifications:
/// `created_at, id`), given to clients as an opaque string.
public struct ListCursor: Sendable, Equatable {
    public var time: Int64
    public var id: String

    public init(time: Int64, id: String) {
        self.time = time
        self.id = id
    }

    /// URL-safe base64 of `time:id`.
    public var token: String {
        Data("\(time):\(id)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Reads a token; nil when it is not one this API wrote.
    public init?(token: String) {
        guard token.utf8.count <= 200 else { return nil }
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":"),
            let time = Int64(text[..<colon])
        else { return nil }
        let id = String(text[text.index(after: colon)...])
        guard !id.isEmpty else { return nil }
        self.init(time: time, id: id)
    }
}
