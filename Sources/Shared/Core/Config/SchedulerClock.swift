import Foundation
import Synchronization

/// The scheduler's notion of time, in unix seconds. Production uses the system clock; process tests use a scaled
/// clock (e.g. 60×: a cron minute passes every real second) shared by every process through the environment
/// (`BASTION_TEST_TIME_SCALE`, `BASTION_TEST_TIME_ANCHOR`), deliberately absent from `--help`.
public struct SchedulerClock: Sendable {
    /// Real instant (unix seconds) at which virtual and real time coincide.
    public let anchor: Double
    /// Virtual seconds per real second (1 in production).
    public let scale: Double
    /// When set, time stands still at this value until a test moves it.
    public let manual: ManualTime?

    /// A settable instant for unit tests.
    public final class ManualTime: Sendable {
        private let value: Mutex<Int64>
        public init(_ start: Int64) { value = Mutex(start) }
        public var now: Int64 {
            get { value.withLock { $0 } }
            set { value.withLock { $0 = newValue } }
        }
    }

    public static let system = SchedulerClock(anchor: 0, scale: 1)

    public init(anchor: Double, scale: Double) {
        self.anchor = anchor
        self.scale = scale
        manual = nil
    }

    public init(manual: ManualTime) {
        anchor = 0
        scale = 1
        self.manual = manual
    }

    /// The clock the environment asks for: scaled when both test variables are set, else the system clock.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> SchedulerClock {
        guard let scale = environment["BASTION_TEST_TIME_SCALE"].flatMap(Double.init), scale > 0,
            let anchor = environment["BASTION_TEST_TIME_ANCHOR"].flatMap(Double.init)
        else { return .system }
        return SchedulerClock(anchor: anchor, scale: scale)
    }

    /// Virtual now, unix seconds.
    public func now() -> Int64 {
        if let manual { return manual.now }
        return Int64(saturating: anchor + (Date().timeIntervalSince1970 - anchor) * scale, rounding: .down)
    }

    /// Real time left until virtual instant `instant` (zero when past).
    public func realDuration(until instant: Int64) -> Duration {
        if let manual { return .seconds(max(0, instant - manual.now)) }
        let realTarget = anchor + (Double(instant) - anchor) / scale
        let seconds = max(0, realTarget - Date().timeIntervalSince1970)
        return .milliseconds(Int64(saturating: seconds * 1000, rounding: .up))
    }
}
