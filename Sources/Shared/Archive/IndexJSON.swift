import Core
import Foundation

/// Names in JSON without loss (`docs/formats.md`, "Names are bytes"): a name that is valid UTF-8 is a JSON string; one
/// that is not is written as the string with invalid bytes replaced by U+FFFD (for people) plus `<key>_b64`, the exact
/// bytes in base64 (for programs). Readers take `<key>_b64` when it is there.
public enum IndexJSON {
    /// Appends `"<text>"` for `bytes`, and `,"<key>_b64":"…"` after it when the bytes are not UTF-8 and a key is given.
    static func appendString(_ bytes: [UInt8], key: String?, to line: inout [UInt8]) {
        let valid = TarWriter.isASCII(bytes) || String(validating: bytes, as: UTF8.self) != nil
        line.append(UInt8(ascii: "\""))
        if valid {
            appendEscaped(bytes, to: &line)
        } else {
            appendEscaped(Array(String(decoding: bytes, as: UTF8.self).utf8), to: &line)
        }
        line.append(UInt8(ascii: "\""))
        if !valid, let key {
            line.append(contentsOf: ",\"\(key)_b64\":\"\(Data(bytes).base64EncodedString())\"".utf8)
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    /// JSON string escaping of valid UTF-8 bytes.
    static func appendEscaped(_ bytes: [UInt8], to line: inout [UInt8]) {
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): line += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): line += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0..<0x20:
                line += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: line.append(byte)
            }
        }
    }

    /// The exact bytes of a name field of a JSON object: `<key>_b64` decoded when present, else the string's UTF-8.
    public static func bytes(_ object: JSONValue, _ key: String) -> [UInt8]? {
        if case .string(let encoded)? = object[key + "_b64"] {
            return Data(base64Encoded: encoded).map { Array($0) }
        }
        if case .string(let text)? = object[key] { return Array(text.utf8) }
        return nil
    }

    /// A name as JSON fields: `[key: text]`, plus `key_b64` when the bytes are not UTF-8.
    public static func fields(_ bytes: [UInt8], _ key: String) -> [String: JSONValue] {
        if let text = String(validating: bytes, as: UTF8.self) { return [key: .string(text)] }
        return [key: .string(String(decoding: bytes, as: UTF8.self)), key + "_b64": .string(Data(bytes).base64EncodedString())]
    }
}

extension Array where Element == UInt8 {
    /// Calls `body` with these bytes NUL-terminated (no heap allocation for short names).
    func withCString<Result>(_ body: (UnsafePointer<CChar>) throws -> Result) rethrows -> Result {
        try withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { buffer in
            for (index, byte) in enumerated() { buffer[index] = CChar(bitPattern: byte) }
            buffer[count] = 0
            return try body(buffer.baseAddress!)
        }
    }
}
