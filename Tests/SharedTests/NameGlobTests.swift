import Core
import Foundation
import Testing

/// The browse search's glob (docs/ui.md, "Snapshot browser: files, versions, search"): its syntax, and its bound.
struct NameGlobTests {
    func matches(_ pattern: String, _ subject: String) -> Bool { NameGlob(pattern).matches(Array(subject.utf8)) }

    @Test func syntax() {
        #expect(NameGlob.isGlob("*.md") && NameGlob.isGlob("a?") && NameGlob.isGlob("[ab]") && !NameGlob.isGlob("readme"))
        #expect(matches("*.md", "readme.md") && matches("*.md", "NOTES.MD") && !matches("*.md", "readme.mdx"))
        #expect(matches("?.txt", "a.txt") && matches("?.txt", "é.txt") && !matches("?.txt", "ab.txt"))
        #expect(matches("[abc]*", "beta") && !matches("[abc]*", "delta") && matches("[!abc]*", "delta") && matches("[a-c]x", "Bx"))
        #expect(matches("[]]", "]") && matches("a\\*b", "a*b") && !matches("a\\*b", "axb") && matches("[x", "[x"))
        // `*` stays in one directory, `**` crosses them, `**/` may match no directory at all.
        #expect(!NameGlob("*.md").matchesPath && NameGlob("docs/*.md").matchesPath)
        #expect(matches("docs/*.txt", "docs/a.txt") && !matches("docs/*.txt", "docs/sub/a.txt"))
        #expect(matches("docs/**/*.txt", "docs/a.txt") && matches("docs/**/*.txt", "docs/x/y/a.txt") && !matches("docs/**/*.txt", "other/a.txt"))
        #expect(!matches("docs/**/b", "docs/xb") && matches("docs/**", "docs/x/y") && matches("**/*.md", "a/b/c.md") && matches("**/*.md", "c.md"))
        #expect(!matches("?", "/") && !matches("[!a]", "/"))
        #expect(NameGlob("a/b").matches([0x61, 0x2F, 0x62]) && NameGlob("latin1-?.bin").matches(Array("latin1-".utf8) + [0xE9] + Array(".bin".utf8)))
    }

    @Test func hostilePatternsStayLinear() {
        let name = Array(String(repeating: "a", count: 4096).utf8)
        let pattern = NameGlob(String(repeating: "*a", count: 100) + "*b")
        let started = ContinuousClock.now
        for _ in 0..<5 { #expect(!pattern.matches(name)) }
        // 5 × 4096 bytes × 200 tokens: a backtracking matcher would not end; this takes under a second in a debug build.
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(NameGlob(String(repeating: "**/", count: 80) + "x").matches(Array((String(repeating: "d/", count: 500) + "x").utf8)))
    }
}
