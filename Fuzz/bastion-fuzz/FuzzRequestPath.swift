import Core
import Foundation

/// HTTP request-target canonicalisation (`RequestPath.canonical`, before routing and before the auth and CSRF
/// groups): what it accepts is canonical (one leading `/`, no empty, `.` or `..` segment, encoded or not, no `\`,
/// no `%2f`/`%5c`), and the canonical form of a canonical path is itself.
enum FuzzRequestPath {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        let target = String(decoding: bytes, as: UTF8.self)
        guard let canonical = try? RequestPath.canonical(target) else { return }
        check(canonical.hasPrefix("/"), "canonical path without a leading /: \(canonical)")
        check(!canonical.contains("\\"), "canonical path with a backslash: \(canonical)")
        let lower = canonical.lowercased()
        check(!lower.contains("%2f") && !lower.contains("%5c"), "canonical path with an encoded separator: \(canonical)")
        // Dots count as what they decode to: `%2e%2E` is `..` to anyone who decodes the path.
        let segments = lower.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            $0.replacingOccurrences(of: "%2e", with: ".")
        }
        check(
            canonical == "/" || !segments.contains { $0.isEmpty || $0 == "." || $0 == ".." },
            "canonical path with an empty, . or .. segment: \(canonical)"
        )
        check((try? RequestPath.canonical(canonical)) == canonical, "canonical of canonical differs: \(canonical)")
    }
}
