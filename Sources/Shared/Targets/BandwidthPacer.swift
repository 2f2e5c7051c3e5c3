import Core
import Foundation
import Synchronization

/// The schedule of a paced stream (docs/targets.md, "Bandwidth"): the time each slice of bytes may leave. Pure logic
/// over a clock the caller passes in (seconds on a monotonic clock), so tests drive it with any clock they like.
///
/// A slice is at most 1/100 of the limit's bytes, and the next slice may start no earlier than the previous slice's
/// start plus its bytes at 97 % of the limit. After a pause (a slow disk, a stalled server) the schedule starts again
/// from now: time not used is lost, never saved up for a burst (there is no token bucket). So the bytes whose start
/// falls in any one-second window are at most 97 % of the limit for the second plus one slice: 98 % of the limit.
public struct PaceSchedule: Sendable {
    /// The fraction of the limit the stream is paced at.
    public static let headroom = 0.97
    /// Slices per second of the limit: a slice is at most `limit / slicesPerSecond` bytes (at most 1 MiB).
    public static let slicesPerSecond: Int64 = 100

    /// When the next slice may start; nil when the stream is idle or unlimited.
    public private(set) var nextStart: Double?
    /// This schedule's fraction and slices (a paced WebDAV download: 96 % in slices of 1/50, two in flight).
    public let headroom: Double
    public let slicesPerSecond: Int64

    public init(headroom: Double = PaceSchedule.headroom, slicesPerSecond: Int64 = PaceSchedule.slicesPerSecond) {
        self.headroom = headroom
        self.slicesPerSecond = slicesPerSecond
    }

    /// The largest slice at `limit` bytes per second.
    public static func sliceBytes(limit: Int64, slicesPerSecond: Int64 = PaceSchedule.slicesPerSecond) -> Int {
        Int(max(1, min(limit / slicesPerSecond, 1 << 20)))
    }

    /// Reserves the next slice of at most `wanted` bytes under `limit` (nil: unlimited, everything at once): its size
    /// and the time it may leave (never before `now`).
    public mutating func reserve(_ wanted: Int, limit: Int64?, now: Double) -> (bytes: Int, at: Double) {
        guard wanted > 0 else { return (0, now) }
        guard let limit, limit > 0 else {
            nextStart = nil
            return (wanted, now)
        }
        let bytes = min(wanted, Self.sliceBytes(limit: limit, slicesPerSecond: slicesPerSecond))
        let at = max(nextStart ?? now, now)
        nextStart = at + Double(bytes) / (Double(limit) * headroom)
        return (bytes, at)
    }

    /// Charges `bytes` that arrived at `now` without a slice (the burst that fills a connection's buffers at the start
    /// of an rclone download, docs/targets.md, "Bandwidth"): the next slice starts no earlier than `now` plus their
    /// time at the paced rate, so a window that holds the burst holds at most the rest of the second's slices. Idle
    /// time before `now` does not pay for it (a window that starts with the burst sees none of that idle time).
    public mutating func charge(_ bytes: Int64, limit: Int64?, now: Double) {
        guard bytes > 0, let limit, limit > 0 else { return }
        nextStart = max(nextStart ?? now, now) + Double(bytes) / (Double(limit) * headroom)
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

    /// Waits for the next slice of at most `wanted` bytes; its size.
    public func pace(_ wanted: Int) async throws -> Int {
        let slice = reserve(wanted)
        if slice.wait > 0 { try await Task.sleep(for: .nanoseconds(Int64(slice.wait * 1e9))) }
        return slice.bytes
    }

    /// `pace` for a thread that may block (the pipes of `rclone`).
    public func paceBlocking(_ wanted: Int) -> Int {
        let slice = reserve(wanted)
        if slice.wait > 0 {
            var delay = timespec(tv_sec: Int(slice.wait), tv_nsec: Int((slice.wait - slice.wait.rounded(.down)) * 1e9))
            var remaining = timespec()
            while nanosleep(&delay, &remaining) != 0 && errno == EINTR { delay = remaining }
        }
        return slice.bytes
    }
}

/// The process's pacers, one per target address and direction (docs/targets.md, "Bandwidth").
public enum BandwidthPacers {
    public enum Direction: String, Sendable {
        case upload, download
    }

    static let pacers = Mutex<[String: BandwidthPacer]>([:])

    /// A WebDAV download asks for each slice with its own ranged GET, `rangedDownloadInFlight` in flight: answers that
    /// come late may arrive together with the next ones, so a window holds at most 96 % of the limit plus the slices in
    /// flight, 2 slices of 1/50 (96 % + 4 %). A round trip up to 2 slices long (42 ms) keeps the pace. (Any k in flight
    /// of 1/n with 96 % + k/n = 100 % allows the same round trip, (1 - 0.96) / 0.96 s; more and smaller ranges only add
    /// requests, docs/targets.md.)
    public static let rangedDownload = PaceSchedule(headroom: 0.96, slicesPerSecond: 50)
    public static let rangedDownloadInFlight = 2

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
