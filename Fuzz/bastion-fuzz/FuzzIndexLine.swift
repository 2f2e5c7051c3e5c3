import Core
import Foundation

@testable import Archive

/// `IndexLine` (a line of a snapshot's entries index, from a target, read field by field by incremental backups and
/// read plans): it never traps, it reads what the JSON writer writes as `JSONValue` reads it, and a name written by
/// `IndexJSON` (bytes that may not be UTF-8) reads back as the same bytes.
enum FuzzIndexLine {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        let line = Array(bytes)
        if let fields = IndexLine(line[...]) {
            touch(fields)
            // As an incremental backup's base line (`PriorIndex`): a candidate or not, never a trap.
            var runs: [[UInt8]: String] = [:]
            _ = PriorEntry(fields, baseRunId: "base", runs: &runs)
        }
        walkOrder(line)
        if let value = try? JSONValue.parse(bytes: line), case .object = value, depth(value) <= 60 {
            let written = Array(value.jsonString().utf8)
            guard let fields = IndexLine(written[...]) else {
                check(false, "IndexLine refuses a line the JSON writer wrote: \(value.jsonString())")
                return
            }
            compare(fields, value)
        }
        // The raw input as a name: written as the index writes names, read back exactly.
        let name = Array(line.prefix(256))
        var record = Array(#"{"kind":"file","path":"#.utf8)
        IndexJSON.appendString(name, key: "path", to: &record)
        record.append(UInt8(ascii: "}"))
        check(IndexLine(record[...])?.name("path", base64: "path_b64") == name, "a name written by IndexJSON reads back differently")
        let parsed = try? JSONValue.parse(bytes: record)
        check(parsed.flatMap { IndexJSON.bytes($0, "path") } == name, "a name written by IndexJSON reads back differently as JSON")
    }

    /// `WalkOrder` on paths from a target: the input cut in two at its first NUL (or its middle), each as a file and
    /// as a directory: it never traps, a path is at its own place, and the order is antisymmetric.
    static func walkOrder(_ line: [UInt8]) {
        let cut = line.firstIndex(of: 0) ?? line.count / 2
        let a = Array(line[..<cut].prefix(512))
        let b = Array(line[min(line.count, cut + 1)...].prefix(512))
        for (aDirectory, bDirectory) in [(false, false), (false, true), (true, false), (true, true)] {
            let forward = WalkOrder.compare(a, aDirectory, b, bDirectory)
            let backward = WalkOrder.compare(b, bDirectory, a, aDirectory)
            check(forward == -backward, "WalkOrder is not antisymmetric on \(a) and \(b)")
            check(WalkOrder.compare(a, aDirectory, a, aDirectory) == 0, "WalkOrder does not find \(a) at its own place")
            _ = WalkOrder.isWithin(a, b)
        }
    }

    static func touch(_ fields: IndexLine) {
        _ = fields.string("kind")
        _ = fields.name("path", base64: "path_b64")
        _ = fields.name("link", base64: "link_b64")
        _ = fields.string("hash")
        _ = fields.int("size")
        _ = fields.int("mtime")
        _ = fields.int("offset")
        _ = fields.bool("sparse")
        _ = fields.string("stored_in")
    }

    /// Each field the readers take, as `IndexLine` and as `JSONValue` see it.
    static func compare(_ fields: IndexLine, _ value: JSONValue) {
        let text = value.jsonString()
        func utf8(_ key: String) -> [UInt8]? { value[key]?.stringValue.map { Array($0.utf8) } }
        check(fields.string("kind") == utf8("kind"), "IndexLine and JSONValue disagree on kind: \(text)")
        check(fields.string("hash") == utf8("hash"), "IndexLine and JSONValue disagree on hash: \(text)")
        check(fields.name("path", base64: "path_b64") == IndexJSON.bytes(value, "path"), "IndexLine and JSONValue disagree on path: \(text)")
        check(fields.int("size") == value["size"]?.int64Value, "IndexLine and JSONValue disagree on size: \(text)")
        check(fields.int("mtime") == value["mtime"]?.int64Value, "IndexLine and JSONValue disagree on mtime: \(text)")
        check(fields.int("offset") == value["offset"]?.int64Value, "IndexLine and JSONValue disagree on offset: \(text)")
        check(fields.bool("sparse") == boolValue(value["sparse"]), "IndexLine and JSONValue disagree on sparse: \(text)")
    }

    static func boolValue(_ value: JSONValue?) -> Bool? {
        if case .bool(let flag)? = value { return flag }
        return nil
    }

    static func depth(_ value: JSONValue) -> Int {
        switch value {
        case .array(let items): return 1 + (items.map(depth).max() ?? 0)
        case .object(let members): return 1 + (members.values.map(depth).max() ?? 0)
        default: return 0
        }
    }
}
