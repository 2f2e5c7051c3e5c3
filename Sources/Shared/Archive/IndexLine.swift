import Foundation

/// One line of an entries index read field by field, without building a `JSONValue` tree: the reads that go through
/// every line of a large index (an incremental backup's previous files, a read plan) take only the fields they need.
/// The line must be one well-formed JSON object; nested values (`xattrs`) are skipped, strings are decoded with every
/// JSON escape, numbers other than whole ones are not integers.
struct IndexLine {
    /// The raw JSON text of each top-level value, by key.
    private var values: [(key: ArraySlice<UInt8>, value: ArraySlice<UInt8>)] = []

    /// Nil when the line is not one JSON object.
    init?(_ line: ArraySlice<UInt8>) {
        var scanner = Scanner(bytes: line)
        guard scanner.object(into: &values), scanner.atEnd else { return nil }
    }

    private func raw(_ key: StaticString) -> ArraySlice<UInt8>? {
        let wanted = UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
        for (candidate, value) in values where candidate.count == wanted.count {
            if candidate.withUnsafeBytes({ $0.elementsEqual(wanted) }) { return value }
        }
        return nil
    }

    /// A whole number (no fraction or exponent), within Int64.
    func int(_ key: StaticString) -> Int64? {
        guard let raw = raw(key), !raw.isEmpty else { return nil }
        var value: Int64 = 0
        var negative = false
        var index = raw.startIndex
        if raw[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard index < raw.endIndex else { return nil }
        while index < raw.endIndex {
            let digit = raw[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = times.addingReportingOverflow(Int64(digit))
            guard !overflowA, !overflowB else { return nil }
            value = sum
            index += 1
        }
        return negative ? -value : value
    }

    func bool(_ key: StaticString) -> Bool? {
        guard let raw = raw(key) else { return nil }
        if raw.elementsEqual("true".utf8) { return true }
        if raw.elementsEqual("false".utf8) { return false }
        return nil
    }

    /// A string value's bytes (UTF-8), escapes decoded.
    func string(_ key: StaticString) -> [UInt8]? {
        guard let raw = raw(key), raw.first == UInt8(ascii: "\"") else { return nil }
        return Scanner.decodeString(raw.dropFirst().dropLast())
    }

    /// A name field (`docs/formats.md`, "Names are bytes"): `<key>_b64` decoded when present (`base64`), else the
    /// string.
    func name(_ key: StaticString, base64: StaticString) -> [UInt8]? {
        if let encoded = string(base64) { return Data(base64Encoded: Data(encoded)).map { Array($0) } }
        return string(key)
    }

    private struct Scanner {
        let bytes: ArraySlice<UInt8>
        var index: Int

        init(bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            index = bytes.startIndex
        }

        var atEnd: Bool {
            mutating get {
                skipSpace()
                return index == bytes.endIndex
            }
        }

        mutating func skipSpace() {
            while index < bytes.endIndex, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[index]) { index += 1 }
        }

        mutating func object(into values: inout [(key: ArraySlice<UInt8>, value: ArraySlice<UInt8>)]) -> Bool {
            skipSpace()
            guard index < bytes.endIndex, bytes[index] == UInt8(ascii: "{") else { return false }
            index += 1
            skipSpace()
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return true
            }
            while true {
                skipSpace()
                let keyStart = index
                guard skipString() else { return false }
                var key = bytes[(keyStart + 1)..<(index - 1)]
                if key.contains(UInt8(ascii: "\\")) { key = Scanner.decodeString(key).map { $0[...] } ?? [] }
                skipSpace()
                guard index < bytes.endIndex, bytes[index] == UInt8(ascii: ":") else { return false }
                index += 1
                skipSpace()
                let valueStart = index
                guard skipValue(depth: 0) else { return false }
                values.append((key, bytes[valueStart..<index]))
                skipSpace()
                guard index < bytes.endIndex else { return false }
                if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return true
                }
                guard bytes[index] == UInt8(ascii: ",") else { return false }
                index += 1
            }
        }

        /// Past one string (at its opening quote).
        mutating func skipString() -> Bool {
            guard index < bytes.endIndex, bytes[index] == UInt8(ascii: "\"") else { return false }
            index += 1
            while index < bytes.endIndex {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    index += 1
                    return true
                case UInt8(ascii: "\\"): index += 2
                case 0..<0x20: return false
                default: index += 1
                }
            }
            return false
        }

        mutating func skipValue(depth: Int) -> Bool {
            guard depth < 64, index < bytes.endIndex else { return false }
            switch bytes[index] {
            case UInt8(ascii: "\""): return skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let close = bytes[index] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                let isObject = close == UInt8(ascii: "}")
                index += 1
                skipSpace()
                if index < bytes.endIndex, bytes[index] == close {
                    index += 1
                    return true
                }
                while true {
                    skipSpace()
                    if isObject {
                        guard skipString() else { return false }
                        skipSpace()
                        guard index < bytes.endIndex, bytes[index] == UInt8(ascii: ":") else { return false }
                        index += 1
                        skipSpace()
                    }
                    guard skipValue(depth: depth + 1) else { return false }
                    skipSpace()
                    guard index < bytes.endIndex else { return false }
                    if bytes[index] == close {
                        index += 1
                        return true
                    }
                    guard bytes[index] == UInt8(ascii: ",") else { return false }
                    index += 1
                }
            default:
                // A number or a literal: up to the next delimiter.
                let start = index
                while index < bytes.endIndex,
                    ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0a, 0x0d].contains(bytes[index])
                {
                    index += 1
                }
                let token = bytes[start..<index]
                if token.elementsEqual("true".utf8) || token.elementsEqual("false".utf8) || token.elementsEqual("null".utf8) { return true }
                return !token.isEmpty
                    && token.allSatisfy {
                        ($0 >= 48 && $0 <= 57)
                            || [UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains($0)
                    }
            }
        }

        /// A string's content (between the quotes) with its escapes decoded; nil when an escape is malformed.
        static func decodeString(_ body: ArraySlice<UInt8>) -> [UInt8]? {
            guard body.contains(UInt8(ascii: "\\")) else { return Array(body) }
            var output: [UInt8] = []
            output.reserveCapacity(body.count)
            var index = body.startIndex
            var pendingHigh: UInt32?
            while index < body.endIndex {
                let byte = body[index]
                guard byte == UInt8(ascii: "\\") else {
                    if pendingHigh != nil { return nil }
                    output.append(byte)
                    index += 1
                    continue
                }
                guard index + 1 < body.endIndex else { return nil }
                let escape = body[index + 1]
                index += 2
                if escape == UInt8(ascii: "u") {
                    guard index + 4 <= body.endIndex, let unit = UInt32(String(decoding: body[index..<(index + 4)], as: UTF8.self), radix: 16) else {
                        return nil
                    }
                    index += 4
                    var scalar: UInt32
                    if let high = pendingHigh {
                        guard (0xDC00...0xDFFF).contains(unit) else { return nil }
                        scalar = 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00)
                        pendingHigh = nil
                    } else if (0xD800...0xDBFF).contains(unit) {
                        pendingHigh = unit
                        continue
                    } else {
                        scalar = unit
                    }
                    guard let value = Unicode.Scalar(scalar) else { return nil }
                    output.append(contentsOf: Array(String(Character(value)).utf8))
                    continue
                }
                if pendingHigh != nil { return nil }
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(escape)
                case UInt8(ascii: "b"): output.append(0x08)
                case UInt8(ascii: "f"): output.append(0x0c)
                case UInt8(ascii: "n"): output.append(0x0a)
                case UInt8(ascii: "r"): output.append(0x0d)
                case UInt8(ascii: "t"): output.append(0x09)
                default: return nil
                }
            }
            return pendingHigh == nil ? output : nil
        }
    }
}
