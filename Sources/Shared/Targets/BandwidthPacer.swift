import Core
import Foundation
import Synchronization

/// The schedule of a paced stream (docs/targets.md, "Bandwidth"): the time each slice of bytes may leave. Pure logic
/// over a clock the caller passes in (seconds on a monotonic clock), so tests drive it with any clock they like.
///
/// A slice is at most 1/100 of the limit's bytes, and the next slice may start no earlier than the previous slice's
/// start plus its bytes at 97 % of the limit. Without a catch-up (uploads), after a pause (a slow disk, a stalled
/// server) the schedule starts again from now: time not used is lost, so the bytes whose start falls in any one-second
/// window are at most 97 % of the limit for the second plus one slice: 98 % of it.
///
/// With a catch-up (downloads, whose round trips and servers stall now and then), time lost less than `catchUp` ago is
/// made up by sending the late slices at once, and a `window` then keeps every one-second window within 99 % of the
/// limit whatever the schedule allows: the catch-up is a burst only up to what the last second left unused.
public struct PaceSchedule: Sendable {
    /// The fraction of the limit the stream is paced at.
    public static let headroom = 0.97
    /// Slices per second of the limit: a slice is at most `limit / slicesPerSecond` bytes (at most 1 MiB).
    public static let slicesPerSecond: Int64 = 100

    /// When the next slice may start; nil when the stream is idle or unlimited. Behind `now` by less than `catchUp`
    /// while a download makes up for a stall.
    public private(set) var nextStart: Double?
    /// This schedule's fraction and slices.
    public let headroom: Double
    public let slicesPerSecond: Int64
    /// How much lost time is made up (seconds; 0: none).
    public let catchUp: Double
    /// The bytes of the last second, which bound a catch-up (docs/targets.md, "Bandwidth"); nil without catch-up.
    var window: PaceWindow?

    public init(headroom: Double = PaceSchedule.headroom, slicesPerSecond: Int64 = PaceSchedule.slicesPerSecond, catchUp: Double = 0) {
        self.headroom = headroom
        self.slicesPerSecond = slicesPerSecond
        self.catchUp = catchUp
        self.window = catchUp > 0 ? PaceWindow() : nil
    }

    /// The largest slice at `limit` bytes per second.
    public static func sliceBytes(limit: Int64, slicesPerSecond: Int64 = PaceSchedule.slicesPerSecond) -> Int {
        Int(max(1, min(limit / slicesPerSecond, 1 << 20)))
    }

    /// Where the schedule goes on from at `now`: its next start, or now when it is idle or further behind than the
    /// catch-up (time lost longer ago than that is lost).
    func base(now: Double) -> Double {
        guard let nextStart, nextStart >= now - catchUp else { return now }
        return nextStart
    }

    /// Reserves the next slice of at most `wanted` bytes under `limit` (nil: unlimited, everything at once): its size
    /// and the time it may leave by the schedule (never before `now`). With a window, the slice must then also be let
    /// through it (`admit`).
    public mutating func reserve(_ wanted: Int, limit: Int64?, now: Double) -> (bytes: Int, at: Double) {
        guard wanted > 0 else { return (0, now) }
        guard let limit, limit > 0 else {
            nextStart = nil
            return (wanted, now)
        }
        let bytes = min(wanted, Self.sliceBytes(limit: limit, slicesPerSecond: slicesPerSecond))
        let base = base(now: now)
        nextStart = base + Double(bytes) / (Double(limit) * headroom)
        return (bytes, max(base, now))
    }

    /// Charges `bytes` that arrived at `now` without a slice (the burst that fills a connection's buffers at the start
    /// of an rclone download, docs/targets.md, "Bandwidth"): the next slice starts no earlier than the schedule's base
    /// plus their time at the paced rate, so a window that holds the burst holds at most the rest of the second's
    /// slices. Idle time before `now` does not pay for it (a window that starts with the burst sees none of that idle
    /// time). The window counts them as arrived.
    public mutating func charge(_ bytes: Int64, limit: Int64?, now: Double) {
        guard bytes > 0, let limit, limit > 0 else { return }
        nextStart = base(now: now) + Double(bytes) / (Double(limit) * headroom)
        window?.arrived(bytes, reserved: 0, now: now)
    }

    /// Lets `bytes` of a reserved slice through the window at `now` (they count as in flight until `arrived`); nil when
    /// they went through, else the time to ask again (when enough of the last second's bytes have left it). Always
    /// through without a window or a limit.
    public mutating func admit(_ bytes: Int64, limit: Int64?, now: Double) -> Double? {
        guard var window, let limit, limit > 0 else { return nil }
        defer { self.window = window }
        return window.admit(bytes, cap: Int64(Double(limit) * PaceWindow.cap), now: now)
    }

    /// Records that `bytes` of a slice of `reserved` bytes let through `admit` arrived at `now` (fewer at the end of
    /// a stream, 0 when its transfer failed).
    public mutating func arrived(_ bytes: Int64, reserved: Int64, now: Double) {
        window?.arrived(bytes, reserved: reserved, now: now)
    }
}

/// The bytes of a paced download's last second and those in flight (docs/targets.md, "Bandwidth"). A slice goes out
/// only when what arrived in the last second, what is in flight and the slice together are within the cap. Then no
/// one-second window of arrivals holds more than the cap: a window's bytes were either in flight at its start or
/// sent in it, and at the last send in it, those plus what had arrived since its start were within the cap.
public struct PaceWindow: Sendable {
    /// The fraction of the limit a one-second window may hold (a little under it: headers are estimated).
    public static let cap = 0.99

    /// Arrivals of the last second, oldest first, from `head`.
    var arrivals: [(at: Double, bytes: Int64)] = []
    var head = 0
    /// The sum of the arrivals from `head`.
    public private(set) var recent: Int64 = 0
    /// Bytes let through and not arrived yet.
    public private(set) var inFlight: Int64 = 0

    mutating func expire(now: Double) {
        while head < arrivals.count, arrivals[head].at <= now - 1 {
            recent -= arrivals[head].bytes
            head += 1
        }
        if head > 4096 {
            arrivals.removeFirst(head)
            head = 0
        }
    }

    /// `PaceSchedule.admit` under `cap` bytes.
    mutating func admit(_ bytes: Int64, cap: Int64, now: Double) -> Double? {
        expire(now: now)
        var excess = recent + inFlight + bytes - cap
        guard excess > 0 else {
            inFlight += bytes
            return nil
        }
        // The time the oldest arrivals that make up the excess leave the window (or, when what is in flight alone is
        // too much, a moment later: an arrival will change the answer).
        for index in head..<arrivals.count {
            excess -= arrivals[index].bytes
            if excess <= 0 { return arrivals[index].at + 1 }
        }
        return now + 0.001
    }

    mutating func arrived(_ bytes: Int64, reserved: Int64, now: Double) {
        inFlight = max(0, inFlight - reserved)
        guard bytes > 0 else { return }
        arrivals.append((now, bytes))
        recent += bytes
    }
}

/// Paces one direction (uploads or downloads) of one target: every transfer of this process in that direction takes
/// its slices from the same schedule, so two runs writing to one target share its limit. The limit is looked up for
/// each slice (a schedule entry starts or ends mid-transfer).
public final class BandwidthPacer: Sendable {
    public let bandwidth: TargetBandwidth
    let schedule: Mutex<PaceSchedule>
    let clock: @Sendable () -> Double
    let date: @Sendable () -> Date

    public init(
        bandwidth: TargetBandwidth,
        schedule: PaceSchedule = PaceSchedule(),
        clock: @escaping @Sendable () -> Double = BandwidthPacer.monotonicSeconds,
        date: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.schedule = Mutex(schedule)
        self.bandwidth = bandwidth
        self.clock = clock
        self.date = date
    }

    /// Seconds on the monotonic clock.
    public static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// The next slice of at most `wanted` bytes and how long to wait before sending it (seconds, 0 when now).
    public func reserve(_ wanted: Int) -> (bytes: Int, wait: Double) {
        let limit = bandwidth.limit(at: date())
        let now = clock()
        let slice = schedule.withLock { $0.reserve(wanted, limit: limit, now: now) }
        return (slice.bytes, max(0, slice.at - now))
    }

    /// Lets `bytes` through the schedule's window now (`PaceSchedule.admit`): nil, or the seconds to wait before asking
    /// again.
    public func admit(_ bytes: Int) -> Double? {
        let limit = bandwidth.limit(at: date())
        let now = clock()
        return schedule.withLock { $0.admit(Int64(bytes), limit: limit, now: now) }.map { max(0.0005, $0 - now) }
    }

    /// Records the arrival of `bytes` of a slice of `reserved` bytes that `pace` let through (0 bytes: its transfer
    /// failed).
    public func arrived(_ bytes: Int, reserved: Int) {
        let now = clock()
        schedule.withLock { $0.arrived(Int64(bytes), reserved: Int64(reserved), now: now) }
    }

    /// Charges a burst of `bytes` that arrived now unasked (`PaceSchedule.charge`).
    public func charge(_ bytes: Int64) {
        let limit = bandwidth.limit(at: date())
        let now = clock()
        schedule.withLock { $0.charge(bytes, limit: limit, now: now) }
    }

    /// The bytes an rclone download's connection takes in at once before it follows the pipe's pace (docs/targets.md,
    /// "Bandwidth"): the kernel's largest TCP receive buffer (`/proc/sys/net/ipv4/tcp_rmem`'s third value), at most
    /// 6 MiB (Linux's default; a raised maximum is rarely reached on a LAN), 6 MiB when it cannot be read.
    public static let downloadBurst: Int64 = {
        let fallback: Int64 = 6 << 20
        guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/tcp_rmem", encoding: .utf8) else { return fallback }
        let fields = text.split(whereSeparator: \.isWhitespace)
        guard fields.count == 3, let maximum = Int64(fields[2]), maximum > 0 else { return fallback }
        return min(maximum, fallback)
    }()

    /// Waits for the next slice of at most `wanted` bytes, by the schedule and then through its window; its size. With
    /// a window, the caller reports the slice's arrival (`arrived`).
    public func pace(_ wanted: Int) async throws -> Int {
        let slice = reserve(wanted)
        if slice.wait > 0 { try await Task.sleep(for: .nanoseconds(Int64(slice.wait * 1e9))) }
        while let wait = admit(slice.bytes) { try await Task.sleep(for: .nanoseconds(Int64(wait * 1e9))) }
        return slice.bytes
    }

    /// `pace` for a thread that may block (the pipes of `rclone`).
    public func paceBlocking(_ wanted: Int) -> Int {
        let slice = reserve(wanted)
        Self.sleep(slice.wait)
        while let wait = admit(slice.bytes) { Self.sleep(wait) }
        return slice.bytes
    }

    static func sleep(_ seconds: Double) {
        guard seconds > 0 else { return }
        var delay = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
        var remaining = timespec()
        while nanosleep(&delay, &remaining) != 0 && errno == EINTR { delay = remaining }
    }
}

/// The process's pacers, one per target address and direction (docs/targets.md, "Bandwidth").
public enum BandwidthPacers {
    public enum Direction: String, Sendable {
        case upload, download
    }

    static let pacers = Mutex<[String: BandwidthPacer]>([:])

    /// A download's schedule: 97 % of the limit in slices of 1/100, making up to a second of lost time within its
    /// window (a stalled range or rclone read late). A WebDAV download asks for each slice with its own ranged GET,
    /// `rangedDownloadInFlight` in flight: the window counts them until they arrive, so answers that come late and land
    /// together keep every second within the cap, and a longer round trip lowers the rate only as far as the bytes in
    /// flight take the window's room (docs/targets.md).
    public static let download = PaceSchedule(catchUp: 1)
    public static let rangedDownloadInFlight = 8

    /// The pacer of `target`'s `direction`; nil when the target has no limit. A pacer whose target's limits changed
    /// is replaced.
    public static func pacer(for target: JobSpec.Target, _ direction: Direction, schedule: PaceSchedule = PaceSchedule()) -> BandwidthPacer? {
        guard let bandwidth = target.bandwidth, bandwidth.limitBps != nil || !bandwidth.schedule.isEmpty else { return nil }
        let key = "\(direction.rawValue) \(target.addressKey)"
        return pacers.withLock { pacers in
            if let pacer = pacers[key], pacer.bandwidth == bandwidth { return pacer }
            let pacer = BandwidthPacer(bandwidth: bandwidth, schedule: schedule)
            pacers[key] = pacer
            return pacer
        }
    }
}

extension JobSpec.Target {
    /// The same target without a bandwidth limit (the test connection).
    public var withoutBandwidth: JobSpec.Target {
        switch self {
        case .localDir(var local):
            local.bandwidth = nil
            return .localDir(local)
        case .webdav(var webdav):
            webdav.bandwidth = nil
            return .webdav(webdav)
        case .rclone(var rclone):
            rclone.bandwidth = nil
            return .rclone(rclone)
        }
    }

    /// The target's address (type and base_dir, base_url or remote), without its part size or limits.
    var addressKey: String {
        switch self {
        case .localDir(let local): return "local_dir \(local.baseDir)"
        case .webdav(let webdav): return "webdav \(RunLocation.collection(webdav.baseURL))"
        case .rclone(let rclone): return "rclone \(rclone.remote)"
        }
    }
}
