/// Glob patterns with the original's semantics (Rust `globset` defaults): `*` matches any run of characters,
/// `/` included; `?` one character; `[abc]`, `[a-z]`, `[!a-z]` classes; `**` is the same as `*`; `\` escapes.
/// Matching is on the whole absolute path.
public struct Glob: Sendable, Equatable {
    enum Token: Sendable, Equatable {
        case literal(Character)
        case any
        case one
        case set([ClosedRange<Character>], negated: Bool)
    }

    public let pattern: String
    let tokens: [Token]

    /// Nil when the pattern does not compile (an unclosed `[`, a trailing `\`).
    public init?(_ pattern: String) {
        self.pattern = pattern
        var tokens: [Token] = []
        var characters = Array(pattern)[...]
        while let character = characters.popFirst() {
            switch character {
            case "*":
                if tokens.last != .any { tokens.append(.any) }
            case "?": tokens.append(.one)
            case "\\":
                guard let escaped = characters.popFirst() else { return nil }
                tokens.append(.literal(escaped))
            case "[":
                var negated = false
                if characters.first == "!" || characters.first == "^" {
                    negated = true
                    characters.removeFirst()
                }
                var ranges: [ClosedRange<Character>] = []
                var first = true
                var closed = false
                while let member = characters.popFirst() {
                    if member == "]" && !first {
                        closed = true
                        break
                    }
                    first = false
                    if characters.first == "-", characters.count >= 2, characters[characters.index(after: characters.startIndex)] != "]" {
                        characters.removeFirst()
                        let upper = characters.removeFirst()
                        guard member <= upper else { return nil }
                        ranges.append(member...upper)
                    } else {
                        ranges.append(member...member)
                    }
                }
                guard closed else { return nil }
                tokens.append(.set(ranges, negated: negated))
            default:
                tokens.append(.literal(character))
            }
        }
        self.tokens = tokens
    }

    public func matches(_ text: String) -> Bool {
        let characters = Array(text)
        // Iterative matching with backtracking to the last `*`.
        var t = 0
        var c = 0
        var starToken = -1
        var starCharacter = 0
        while c < characters.count {
            if t < tokens.count {
                switch tokens[t] {
                case .any:
                    starToken = t
                    starCharacter = c
                    t += 1
                    continue
                case .one:
                    t += 1
                    c += 1
                    continue
                case .literal(let literal) where literal == characters[c]:
                    t += 1
                    c += 1
                    continue
                case .set(let ranges, let negated) where ranges.contains(where: { $0.contains(characters[c]) }) != negated:
                    t += 1
                    c += 1
                    continue
                default:
                    break
                }
            }
            guard starToken >= 0 else { return false }
            t = starToken + 1
            starCharacter += 1
            c = starCharacter
        }
        while t < tokens.count, tokens[t] == .any { t += 1 }
        return t == tokens.count
    }
}
