import Foundation

/// A scan of `mariadb-dump` output as the `mariadb` client reads it (docs/databases.md, "Verify"): quotes, backquotes,
/// comments and `DELIMITER` lines. Fed in pieces of any size (the result does not depend on where the pieces are cut);
/// `finish` says why the bytes are not one whole dump, or nil: they end outside any string or comment, with no statement
/// left unfinished, after mariadb-dump's last line `-- Dump completed`. A dump cut short fails. Bytes come from a
/// snapshot on a target: hostile input, fuzzed (`make fuzz`, target `mariadbdump`).
public struct MariaDBDumpScanner {
    enum State { case code, single, double, backquote, lineComment, blockComment }
    var state = State.code
    var escaped = false
    var delimiter: [UInt8] = [UInt8(ascii: ";")]
    var matched = 0
    /// Non-blank code bytes since the last delimiter (a statement in progress).
    var pending = false
    var line: [UInt8] = []
    var lastLine: [UInt8] = []
    var previous: UInt8 = 0
    var statements = 0

    public init() {}

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes { step(byte) }
    }

    mutating func step(_ byte: UInt8) {
        if byte == 10 {
            endLine()
        } else if line.count < 256 {
            line.append(byte)
        }
        switch state {
        case .single, .double, .backquote:
            let close: UInt8 = state == .single ? 39 : state == .double ? 34 : 96
            if escaped {
                escaped = false
            } else if byte == 92 && state != .backquote {
                escaped = true
            } else if byte == close {
                state = .code
            }
        case .lineComment:
            if byte == 10 { state = .code }
        case .blockComment:
            if previous == 42 && byte == 47 {
                state = .code
                previous = 0
                return
            }
        case .code:
            if !delimiter.isEmpty, byte == delimiter[matched] {
                matched += 1
                if matched == delimiter.count {
                    matched = 0
                    pending = false
                    statements += 1
                }
                previous = byte
                return
            }
            matched = 0
            switch byte {
            case 39: state = .single
            case 34: state = .double
            case 96: state = .backquote
            case 42 where previous == 47: state = .blockComment
            case 45 where previous == 45 && !pending:
                state = .lineComment
            case 35 where !pending: state = .lineComment
            default: break
            }
            if byte != 10, byte != 32, byte != 9, byte != 13, byte != 45, byte != 47 { pending = true }
        }
        previous = byte
    }

    mutating func endLine() {
        // `DELIMITER x` on a line of its own (between statements) is the client's command, not SQL.
        if state == .code || state == .lineComment, !pending || line.starts(with: Array("DELIMITER ".utf8)) {
            let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.uppercased().hasPrefix("DELIMITER ") {
                delimiter = Array(text.dropFirst("DELIMITER ".count).trimmingCharacters(in: .whitespaces).utf8)
                pending = false
                matched = 0
            }
        }
        if !line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { lastLine = line }
        line.removeAll(keepingCapacity: true)
    }

    public mutating func finish() -> String? {
        if !line.isEmpty { endLine() }
        switch state {
        case .single, .double, .backquote: return "ends inside a quoted string (cut short)"
        case .blockComment: return "ends inside a comment (cut short)"
        default: break
        }
        if pending { return "ends inside an unfinished statement (cut short)" }
        guard String(decoding: lastLine, as: UTF8.self).hasPrefix("-- Dump completed") else {
            return "has no final \"-- Dump completed\" line (cut short)"
        }
        return statements > 0 ? nil : "has no statements"
    }
}
