/// A browse search's glob (docs/ui.md, "Snapshot browser: files, versions, search"): `*` (any bytes but `/`), `**`
/// (any bytes, `/` included; `**/` also matches no directory at all), `?` (one character), `[abc]`, `[a-z]`, `[!abc]`
/// and `\` before a character that would otherwise be special. ASCII letters match either case, like the substring
/// search. A pattern with a `/` matches the path below the searched directory, one without matches the name.
///
/// Matched by simulating the pattern's automaton over the name's bytes, all states at once: time is at most
/// (name bytes × pattern tokens), never exponential, whatever the pattern (`*a*a*a*a*b` on a long name included).
/// A regex engine that backtracks would not give that bound.
public struct NameGlob: Sendable, Equatable {
    enum Token: Sendable, Equatable {
        case byte(UInt8)
        /// `?`: one UTF-8 character (or one byte that is not part of one), never `/`.
        case one
        /// `[…]`: 256 bits, bit `b` set when byte `b` is in the class (case-folded already).
        case set([UInt64])
        /// `*`: any run of bytes without `/`.
        case star
        /// `**`: any run of bytes. `skipsSlash`: it was written `**/`, so the `/` after it may be skipped when it
        /// matched nothing (`docs/**/a` matches `docs/a`).
        case globstar(skipsSlash: Bool)
    }

    let tokens: [Token]
    /// The pattern has a `/`: it matches the path below the searched directory.
    public let matchesPath: Bool

    /// The characters that make a query a glob rather than a substring.
    public static func isGlob(_ query: String) -> Bool { query.contains { "*?[".contains($0) } }

    /// Compiles `pattern` (at most 256 bytes: the API's limit on `q`). An unclosed `[` is a literal `[`.
    public init(_ pattern: String) {
        let bytes = Array(pattern.utf8)
        var tokens: [Token] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "*"):
                var end = index
                while end < bytes.count && bytes[end] == UInt8(ascii: "*") { end += 1 }
                if end - index >= 2 {
                    let slash = end < bytes.count && bytes[end] == UInt8(ascii: "/")
                    tokens.append(.globstar(skipsSlash: slash))
                } else if tokens.last != .star {
                    tokens.append(.star)
                }
                index = end
            case UInt8(ascii: "?"):
                tokens.append(.one)
                index += 1
            case UInt8(ascii: "["):
                if let (set, next) = Self.bracket(bytes, from: index) {
                    tokens.append(.set(set))
                    index = next
                } else {
                    tokens.append(.byte(byte))
                    index += 1
                }
            case UInt8(ascii: "\\") where index + 1 < bytes.count:
                tokens.append(.byte(Self.fold(bytes[index + 1])))
                index += 2
            default:
                tokens.append(.byte(Self.fold(byte)))
                index += 1
            }
        }
        self.tokens = tokens
        matchesPath = bytes.contains(UInt8(ascii: "/"))
    }

    /// `[…]` starting at `start`: the class and the index after its `]`; nil when it is not closed.
    static func bracket(_ bytes: [UInt8], from start: Int) -> ([UInt64], Int)? {
        var index = start + 1
        var negated = false
        if index < bytes.count && (bytes[index] == UInt8(ascii: "!") || bytes[index] == UInt8(ascii: "^")) {
            negated = true
            index += 1
        }
        var set = [UInt64](repeating: 0, count: 4)
        func add(_ byte: UInt8) {
            for folded in Set([byte, fold(byte), upper(byte)]) { set[Int(folded) >> 6] |= 1 << UInt64(folded & 63) }
        }
        var first = true
        while index < bytes.count {
            let byte = bytes[index]
            // A `]` right after `[` or `[!` is a member, as in POSIX shells.
            if byte == UInt8(ascii: "]") && !first {
                if negated { set = set.map { ~$0 } }
                // `/` is never matched by a class: it separates directories.
                set[Int(UInt8(ascii: "/")) >> 6] &= ~(1 << UInt64(UInt8(ascii: "/") & 63))
                return (set, index + 1)
            }
            first = false
            if index + 2 < bytes.count && bytes[index + 1] == UInt8(ascii: "-") && bytes[index + 2] != UInt8(ascii: "]") {
                let low = byte
                let high = bytes[index + 2]
                if low <= high { for member in low...high { add(member) } }
                index += 3
            } else {
                add(byte)
                index += 1
            }
        }
        return nil
    }

    static func fold(_ byte: UInt8) -> UInt8 { byte >= 65 && byte <= 90 ? byte + 32 : byte }
    static func upper(_ byte: UInt8) -> UInt8 { byte >= 97 && byte <= 122 ? byte - 32 : byte }

    /// Whether `subject` (a name, or a path below the searched directory) matches the whole pattern.
    public func matches(_ subject: [UInt8]) -> Bool {
        // `states[i]`: the pattern's first i tokens match the subject read so far. Two buffers, swapped each step.
        var states = [Bool](repeating: false, count: tokens.count + 1)
        var next = states
        var wide = states
        enter(0, into: &states)
        var index = 0
        while index < subject.count {
            let byte = subject[index]
            // `?` takes a whole UTF-8 character: the lead byte and the continuation bytes after it.
            var width = 1
            if byte >= 0xC0 {
                let expected = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2
                while width < expected && index + width < subject.count && subject[index + width] & 0xC0 == 0x80 { width += 1 }
            }
            step(states, byte, width: width, questionMarks: true, into: &next)
            if width > 1 {
                // The `?` states take the whole character; the others read it byte by byte.
                for position in wide.indices { wide[position] = false }
                for state in 0..<tokens.count where states[state] && tokens[state] == .one { enter(state + 1, into: &wide) }
                for offset in 1..<width {
                    swap(&states, &next)
                    step(states, subject[index + offset], width: 1, questionMarks: false, into: &next)
                }
                for position in wide.indices where wide[position] { next[position] = true }
            }
            guard next.contains(true) else { return false }
            swap(&states, &next)
            index += width
        }
        return states[tokens.count]
    }

    /// Marks `state` reached, and every state after it that the tokens between may reach by matching nothing.
    private func enter(_ state: Int, into set: inout [Bool]) {
        var state = state
        while state <= tokens.count && !set[state] {
            set[state] = true
            guard state < tokens.count else { return }
            switch tokens[state] {
            case .star, .globstar(skipsSlash: false):
                state += 1
            case .globstar(skipsSlash: true):
                // Matching nothing, `**/` may drop its `/` too.
                set[state + 1] = true
                state += 2
            default:
                return
            }
        }
    }

    /// The states after reading one byte, into `next` (`?` is taken only by a character of `width` 1, never mid-character).
    private func step(_ states: [Bool], _ raw: UInt8, width: Int, questionMarks: Bool, into next: inout [Bool]) {
        let byte = Self.fold(raw)
        for position in next.indices { next[position] = false }
        for state in 0..<tokens.count where states[state] {
            switch tokens[state] {
            case .byte(let wanted):
                if wanted == byte { enter(state + 1, into: &next) }
            case .set(let set):
                if set[Int(byte) >> 6] & (1 << UInt64(byte & 63)) != 0 { enter(state + 1, into: &next) }
            case .one:
                if questionMarks && width == 1 && byte != UInt8(ascii: "/") { enter(state + 1, into: &next) }
            case .star:
                if byte != UInt8(ascii: "/") {
                    // Stays (matches more), and may stop here.
                    next[state] = true
                    enter(state + 1, into: &next)
                }
            case .globstar(let skipsSlash):
                next[state] = true
                // Having matched something, `**/` needs its `/`: only that token may follow.
                if skipsSlash { next[state + 1] = true } else { enter(state + 1, into: &next) }
            }
        }
    }
}
