import Foundation

/// Latency samples in nanoseconds, summarized.
struct LatencySummary {
    let count: Int
    let median: Double
    let p99: Double
    let mean: Double
    let min: Double

    init(_ samples: [UInt64]) {
        let sorted = samples.sorted()
        count = sorted.count
        median = Double(sorted[sorted.count / 2])
        p99 = Double(sorted[Swift.min(sorted.count - 1, Int(Double(sorted.count) * 0.99))])
        mean = Double(sorted.reduce(0, +)) / Double(sorted.count)
        self.min = Double(sorted[0])
    }

    static func micros(_ nanos: Double) -> String {
        String(format: "%9.1f", nanos / 1000)
    }

    func row(_ name: String) -> String {
        "\(name.padding(toLength: 44, withPad: " ", startingAt: 0)) \(Self.micros(median)) \(Self.micros(p99)) \(Self.micros(mean)) \(Self.micros(min))   n=\(count)"
    }

    static let header = "\("path".padding(toLength: 44, withPad: " ", startingAt: 0))  p50 (µs)  p99 (µs) mean (µs)  min (µs)"
}

/// Monotonic nanoseconds.
@inline(__always) func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
