/// The one check of an HTTP request target's path (docs/security.md, "Canonical paths"): a path the API accepts has
/// exactly one spelling, so the router, the access list, the HTTPS rule and the WebSocket gate all see the same thing.
///
/// `canonical(_:)` takes the raw request target (`/api/jobs?page=2`) and returns its path (`/api/jobs`), or throws a
/// `Refusal` naming the first rule broken. The query (after `?`) is not examined. A canonical path:
/// - starts with `/` (no absolute-form `http://host/x`, no `*`, no empty target);
/// - is `/` itself or has no trailing `/` (trailing slashes are refused, not redirected);
/// - has no empty segment (`//`), and no `.` or `..` segment, plainly or percent-encoded (`%2e`, `%2E%2e`);
/// - has no `\` and no percent-encoded `/` or `\` (`%2f`, `%5C`, any case), and no encoded NUL (`%00`);
/// - has every `%` followed by two hex digits;
/// - has only the bytes RFC 3986 allows in a path segment (letters, digits, `-._~!$&'()*+,;=:@%`): no space, no
///   control character, no `#`, no byte above 0x7E (a non-ASCII name travels percent-encoded).
///
/// A pure function of its input, fuzzed as such (issue 24, item 8).
public enum RequestPath {
    /// Why a target was refused; `code` is the stable name the API reports in `details.reason`.
    public enum Refusal: Error, Equatable, Sendable {
        case notAbsolute
        case trailingSlash
        case emptySegment
        case dotSegment
        case backslash
        case encodedSeparator
        case badPercentEncoding
        case forbiddenByte(UInt8)

        public var code: String {
            switch self {
            case .notAbsolute: return "not_absolute"
            case .trailingSlash: return "trailing_slash"
            case .emptySegment: return "empty_segment"
            case .dotSegment: return "dot_segment"
            case .backslash: return "backslash"
            case .encodedSeparator: return "encoded_separator"
            case .badPercentEncoding: return "bad_percent_encoding"
            case .forbiddenByte: return "forbidden_byte"
            }
        }
    }

    /// The path of `target` (everything before the first `?`) when it is canonical; throws the first rule it breaks.
    public static func canonical(_ target: String) throws(Refusal) -> String {
        let bytes = Array(target.utf8.prefix { $0 != UInt8(ascii: "?") })
        guard bytes.first == UInt8(ascii: "/") else { throw .notAbsolute }
        if bytes.count == 1 { return "/" }
        guard bytes.last != UInt8(ascii: "/") else { throw .trailingSlash }
        for segment in bytes.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            guard !segment.isEmpty else { throw .emptySegment }
            var decoded: [UInt8] = []
            decoded.reserveCapacity(segment.count)
            var index = segment.startIndex
            while index < segment.endIndex {
                let byte = segment[index]
                if byte == UInt8(ascii: "%") {
                    guard index + 2 < segment.endIndex,
                        let high = hexValue(segment[index + 1]), let low = hexValue(segment[index + 2])
                    else { throw .badPercentEncoding }
                    let value = high << 4 | low
                    if value == UInt8(ascii: "/") || value == UInt8(ascii: "\\") { throw .encodedSeparator }
                    if value == 0 { throw .forbiddenByte(0) }
                    decoded.append(value)
                    index += 3
                    continue
                }
                if byte == UInt8(ascii: "\\") { throw .backslash }
                guard isSegmentByte(byte) else { throw .forbiddenByte(byte) }
                decoded.append(byte)
                index += 1
            }
            if decoded == [UInt8(ascii: ".")] || decoded == [UInt8(ascii: "."), UInt8(ascii: ".")] { throw .dotSegment }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// RFC 3986 `pchar` minus `%` (handled by the caller): unreserved, sub-delims, `:` and `@`.
    static func isSegmentByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "!"), UInt8(ascii: "$"),
            UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"),
            UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "@"):
            return true
        default:
            return false
        }
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
