import Core
import Testing

/// `RequestPath.canonical` (docs/security.md, "Canonical paths"): one spelling per path, every other refused with
/// its reason.
@Suite struct RequestPathTests {
    @Test func canonicalTargetsPassAndLoseTheirQuery() throws {
        for (target, path) in [
            ("/", "/"), ("/?x=1", "/"), ("/api/jobs", "/api/jobs"), ("/api/jobs?page=2&q=a/b", "/api/jobs"),
            ("/api/keys/my-key_1.2", "/api/keys/my-key_1.2"), ("/assets/app-3f2a.js", "/assets/app-3f2a.js"),
            ("/api/jobs/%61bc", "/api/jobs/%61bc"), ("/a/..b/.c/...", "/a/..b/.c/..."), ("/x:y@z~!$&'()*+,;=", "/x:y@z~!$&'()*+,;="),
            ("/caf%C3%A9", "/caf%C3%A9"),
        ] {
            #expect(try RequestPath.canonical(target) == path, "\(target)")
        }
    }

    @Test func everyOtherSpellingIsRefusedWithItsReason() {
        let cases: [(String, RequestPath.Refusal)] = [
            ("", .notAbsolute), ("api/jobs", .notAbsolute), ("*", .notAbsolute), ("http://h/api/jobs", .notAbsolute), ("?x", .notAbsolute),
            ("/api/jobs/", .trailingSlash), ("//", .trailingSlash), ("/api/jobs/?x=1", .trailingSlash),
            ("//api/jobs", .emptySegment), ("/api//jobs", .emptySegment), ("///api", .emptySegment),
            ("/./api/jobs", .dotSegment), ("/api/../jobs", .dotSegment), ("/api/jobs/.", .dotSegment), ("/api/%2e/jobs", .dotSegment),
            ("/api/%2E%2e/jobs", .dotSegment), ("/api/.%2E", .dotSegment),
            ("/api%2fjobs", .encodedSeparator), ("/api%2Fjobs", .encodedSeparator), ("/api%5cjobs", .encodedSeparator),
            ("/api%5Cjobs", .encodedSeparator), ("/%2fapi", .encodedSeparator),
            ("/api\\jobs", .backslash), ("/\\api", .backslash),
            ("/api/%", .badPercentEncoding), ("/api/%2", .badPercentEncoding), ("/api/%zz", .badPercentEncoding), ("/a%g0", .badPercentEncoding),
            ("/api/%00", .forbiddenByte(0)), ("/api/a b", .forbiddenByte(0x20)), ("/api/a#b", .forbiddenByte(0x23)),
            ("/api/\u{7f}", .forbiddenByte(0x7f)), ("/café", .forbiddenByte(0xc3)), ("/a\"b", .forbiddenByte(0x22)), ("/a<b>", .forbiddenByte(0x3c)),
        ]
        for (target, reason) in cases {
            #expect(throws: reason, "\(target)") { try RequestPath.canonical(target) }
        }
    }

    /// A cheap stand-in for the fuzzer: whatever comes back is canonical again, splits into non-empty segments
    /// none of which is `.` or `..`, and has no `\`, `%2f` or `%5c`.
    @Test func whatPassesIsAFixedPoint() throws {
        let alphabet = Array("/.%2fF5cC\\a?e0-")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20000 {
            let length = Int.random(in: 0...12, using: &generator)
            let target = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            guard let path = try? RequestPath.canonical(target) else { continue }
            #expect(try RequestPath.canonical(path) == path)
            if path == "/" { continue }
            let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
            #expect(segments.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }, "\(target)")
            let lower = path.lowercased()
            #expect(!lower.contains("\\") && !lower.contains("%2f") && !lower.contains("%5c") && !lower.contains("%2e%2e"), "\(target)")
        }
    }
}
