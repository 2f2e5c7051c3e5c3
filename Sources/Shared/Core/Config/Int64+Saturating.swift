extension Int64 {
    /// A floating value (a time, a rate, a configured number of seconds) as an integer, rounded by `rule` and clamped
    /// to ±2^53 (NaN is 0): the one conversion of a `Double` to an integer outside JSON (`JSONValue.int64Value` is the
    /// one for JSON), so no value, however large, traps (docs/security.md, "Numbers from outside").
    public init(saturating value: Double, rounding rule: FloatingPointRoundingRule = .towardZero) {
        guard !value.isNaN else {
            self = 0
            return
        }
        let limit = 9_007_199_254_740_992.0
        self.init(Swift.min(Swift.max(value.rounded(rule), -limit), limit))
    }
}
