import Core

/// `NameGlob` (the browse search's `q`, docs/ui.md, "Snapshot browser"): the input is a pattern, a NUL, and a subject
/// (a name or a path of any bytes, as an index may hold); without a NUL the pattern's own bytes are the subject. Time
/// is subject bytes × pattern tokens, so the fuzzer keeps to 64 bytes of pattern and 256 of subject (and 8 of
/// pattern against a subject past the 4096 bytes a search tries): longer ones only make it slower (the bound itself is
/// `NameGlobTests.hostilePatternsStayLinear`). It compiles and matches without a trap, and: ASCII
/// case never decides a match; a pattern with every special character escaped matches its own text; `*` matches what
/// has no `/`, `**` everything; a pattern with a `/` matches paths.
enum FuzzNameGlob {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        let input = Array(bytes)
        let split = input.firstIndex(of: 0)
        let pattern = String(decoding: input[..<min(split ?? input.count, 64)], as: UTF8.self)
        let subject = split.map { Array(input[($0 + 1)...].prefix(256)) } ?? Array(pattern.utf8)
        let glob = NameGlob(pattern)
        let matched = glob.matches(subject)
        check(glob.matchesPath == pattern.contains("/"), "matchesPath for \(pattern)")
        check(glob.matches(subject.map(swapCase)) == matched, "ASCII case decided \(pattern) on \(subject)")
        // The same subject many times over, past the 4096 bytes a search tries: trapping arithmetic would show. For one
        // input in eight: in the instrumented build a 4 KiB subject costs ~12 ms, fifty short ones.
        if input.count % 8 == 0 && !subject.isEmpty {
            var long = subject
            while long.count <= 4096 { long += subject }
            _ = NameGlob(String(decoding: Array(pattern.utf8.prefix(8)), as: UTF8.self)).matches(long)
        }

        let literal = escaped(pattern)
        check(NameGlob(literal).matches(Array(pattern.utf8)), "\(literal) does not match its own text \(pattern)")
        check(NameGlob("*").matches(subject) == !subject.contains(UInt8(ascii: "/")), "* on \(subject)")
        check(NameGlob("**").matches(subject), "** on \(subject)")
    }

    static func swapCase(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - 32
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte + 32
        default: byte
        }
    }

    /// `text` as a pattern that matches exactly it: `\` before each `*`, `?`, `[` and `\`.
    static func escaped(_ text: String) -> String {
        var result = ""
        for character in text.unicodeScalars {
            if "*?[\\".unicodeScalars.contains(character) { result.unicodeScalars.append("\\") }
            result.unicodeScalars.append(character)
        }
        return result
    }
}
