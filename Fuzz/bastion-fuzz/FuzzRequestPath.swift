import Core

/// HTTP request-target canonicalisation (`RequestPath.canonical`, before routing and before the auth and CSRF
/// groups): what it accepts is canonical (one leading `/`, no empty, `.` or `..` segment, no `\`), and the canonical
/// form of a canonical path is itself.
enum FuzzRequestPath {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        let target = String(decoding: bytes, as: UTF8.self)
        guard let canonical = try? RequestPath.canonical(target) else { return }
        check(canonical.hasPrefix("/"), "canonical path without a leading /: \(canonical)")
        check(!canonical.contains("\\"), "canonical path with a backslash: \(canonical)")
        let segments = canonical.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        check(
            canonical == "/" || !segments.contains { $0.isEmpty || $0 == "." || $0 == ".." },
            "canonical path with an empty, . or .. segment: \(canonical)"
        )
        check((try? RequestPath.canonical(canonical)) == canonical, "canonical of canonical differs: \(canonical)")
    }
}
