import Core
import Foundation
import Synchronization
import Testing

@testable import Targets

/// Bandwidth limits (docs/targets.md, "Bandwidth"): the spec's `target.bandwidth`, the weekly schedule, and the pacer's
/// schedule driven by a clock the test turns by hand (no timed assertions).
struct BandwidthPacerTests {
    static let limit: Int64 = 20 << 20

    /// Sends `total` bytes through `schedule` at `limit`: each slice leaves at its time, or later when the sender is
    /// slow (`delay` after each slice, from the slice's index); the (time, bytes) of every slice.
    static func simulate(total: Int, limit: Int64, delay: (Int) -> Double = { _ in 0 }) -> [(at: Double, bytes: Int)] {
        var schedule = PaceSchedule()
        var now = 1000.0
        var left = total
        var sent: [(Double, Int)] = []
        while left > 0 {
            let slice = schedule.reserve(left, limit: limit, now: now)
            now = max(now, slice.at)
            sent.append((now, slice.bytes))
            left -= slice.bytes
            now += delay(sent.count)
        }
        return sent
    }

    /// The most bytes whose slices start in any window of `width` seconds.
    static func maxWindow(_ sent: [(at: Double, bytes: Int)], width: Double = 1) -> Int {
        var best = 0
        var sum = 0
        var first = 0
        for (index, slice) in sent.enumerated() {
            sum += slice.bytes
            while sent[first].at <= slice.at - width {
                sum -= sent[first].bytes
                first += 1
            }
            _ = index
            best = max(best, sum)
        }
        return best
    }

    @Test func noOneSecondWindowExceedsTheLimitAndTheAverageIsJustUnderIt() {
        let sent = Self.simulate(total: 200 << 20, limit: Self.limit)
        #expect(Self.maxWindow(sent) <= Int(Self.limit))
        let seconds = sent.last!.at - sent.first!.at
        let average = Double(200 << 20 - sent.last!.bytes) / seconds
        #expect(average > 0.96 * Double(Self.limit) && average < Double(Self.limit))
        // Slices are at most 1/100 of the limit.
        #expect(sent.allSatisfy { $0.bytes <= Int(Self.limit) / 100 })
    }

    @Test func aStalledSenderDoesNotCatchUpInABurst() {
        // Every 50th slice the sender stalls for 0.7 s (a slow disk): the time lost is not saved up.
        let sent = Self.simulate(total: 100 << 20, limit: Self.limit) { $0 % 50 == 0 ? 0.7 : 0 }
        #expect(Self.maxWindow(sent) <= Int(Self.limit))
        #expect(Self.maxWindow(sent, width: 0.1) <= Int(Double(Self.limit) * 0.1) + Int(Self.limit) / 100)
        // A token bucket of one second would have sent 20 MiB at once after each stall; here the slices stay apart.
        for pair in zip(sent, sent.dropFirst()) {
            #expect(pair.1.at - pair.0.at >= Double(pair.0.bytes) / (Double(Self.limit) * PaceSchedule.headroom) - 1e-9)
        }
    }

    /// rclone downloads of `size` bytes each, one after another with `gap` seconds between them (rclone starting): at
    /// each start the connection takes in `burst` bytes at once, then the network follows the paced reads, `burst`
    /// ahead of them (N = min(size, R + burst)). The (time, bytes) of every arrival on the network.
    static func downloads(count: Int, size: Int, burst: Int, gap: Double, charge: Bool) -> [(at: Double, bytes: Int)] {
        var schedule = PaceSchedule()
        var now = 1000.0
        var arrived: [(Double, Int)] = []
        for _ in 0..<count {
            now += gap
            arrived.append((now, min(size, burst)))
            if charge { schedule.charge(Int64(burst), limit: Self.limit, now: now) }
            var read = 0
            while read < size {
                let slice = schedule.reserve(size - read, limit: Self.limit, now: now)
                now = max(now, slice.at)
                let before = min(size, read + burst)
                read += slice.bytes
                arrived.append((now, min(size, read + burst) - before))
            }
        }
        return arrived
    }

    @Test func anRcloneDownloadsBurstIsChargedSoNoWindowHoldsMoreThanTheLimit() {
        let burst = 6 << 20
        // Right after the previous download, a little later, and after a long pause: the burst's window is the same.
        for gap in [0.0, 0.05, 0.3, 5] {
            let arrived = Self.downloads(count: 3, size: 64 << 20, burst: burst, gap: gap, charge: true)
            #expect(Self.maxWindow(arrived) <= Int(Self.limit), "gap \(gap)")
            // Uncharged, the burst and the second's slices share a window.
            let uncharged = Self.downloads(count: 3, size: 64 << 20, burst: burst, gap: gap, charge: false)
            #expect(Self.maxWindow(uncharged) > Int(Self.limit) + burst / 2, "gap \(gap)")
        }
        // A part smaller than the burst arrives whole at once; the next one still waits for its time.
        #expect(Self.maxWindow(Self.downloads(count: 5, size: 1 << 20, burst: burst, gap: 0, charge: true)) <= Int(Self.limit))
    }

    /// A paced download by ranged requests, `inFlight` at most: each slice is asked for at its time once the window
    /// lets it through, and arrives `roundTrip` later, or, when that falls in one of the server's stalls (0.4 s from
    /// 0.5 s into every 2 s), when the stall ends. Late answers land together with the next ones. The (time, bytes) of
    /// every arrival.
    static func rangedDownload(total: Int, inFlight: Int, guarded: Bool, roundTrip: Double = 0.003) -> [(at: Double, bytes: Int)] {
        var schedule = BandwidthPacers.download
        if !guarded { schedule.window = nil }
        let start = 1000.0
        var now = start
        var pending: [(at: Double, bytes: Int)] = []
        var arrived: [(at: Double, bytes: Int)] = []
        func settle(until time: Double) {
            pending.sort { $0.at < $1.at }
            while let first = pending.first, first.at <= time {
                schedule.arrived(Int64(first.bytes), reserved: Int64(first.bytes), now: first.at)
                arrived.append(first)
                pending.removeFirst()
            }
        }
        func answered(_ asked: Double) -> Double {
            let t = asked + roundTrip
            let phase = (t - start).truncatingRemainder(dividingBy: 2)
            return phase >= 0.5 && phase < 0.9 ? t - phase + 0.9 : t
        }
        var requested = 0
        while requested < total || !pending.isEmpty {
            guard requested < total, pending.count < inFlight else {
                now = max(now, pending.map(\.at).min()!)
                settle(until: now)
                continue
            }
            let slice = schedule.reserve(total - requested, limit: Self.limit, now: now)
            now = max(now, slice.at)
            settle(until: now)
            while let again = schedule.admit(Int64(slice.bytes), limit: Self.limit, now: now) {
                now = min(again, pending.map(\.at).min() ?? again)
                settle(until: now)
            }
            pending.append((answered(now), slice.bytes))
            requested += slice.bytes
        }
        return arrived.sorted { $0.at < $1.at }
    }

    static func average(_ arrived: [(at: Double, bytes: Int)]) -> Double {
        Double(arrived.map(\.bytes).reduce(0, +) - arrived.last!.bytes) / (arrived.last!.at - arrived.first!.at)
    }

    @Test func aDownloadMakesUpForAStalledServerWithinTheWindow() {
        let limit = Double(Self.limit)
        let arrived = Self.rangedDownload(total: 256 << 20, inFlight: BandwidthPacers.rangedDownloadInFlight, guarded: true)
        // Every window within 99 % of the limit, and the average at the limit's 97 % although the server stalls 20 %
        // of the time (a second of lost time is made up).
        #expect(Self.maxWindow(arrived) <= Int(limit * PaceWindow.cap))
        #expect(Self.average(arrived) > 0.95 * limit, "\(Self.average(arrived) / 1_048_576) MiB/s")
        // A round trip as long as 40 ms lowers the rate a little, never over the cap.
        let far = Self.rangedDownload(total: 128 << 20, inFlight: BandwidthPacers.rangedDownloadInFlight, guarded: true, roundTrip: 0.04)
        #expect(Self.maxWindow(far) <= Int(limit * PaceWindow.cap))
        #expect(Self.average(far) > 0.9 * limit, "\(Self.average(far) / 1_048_576) MiB/s")
        // The same catch-up without the window: the answers held by a stall land with the catch-up's, over the limit.
        let unguarded = Self.rangedDownload(total: 256 << 20, inFlight: BandwidthPacers.rangedDownloadInFlight, guarded: false)
        #expect(Self.maxWindow(unguarded) > Int(limit))
    }

    @Test func aDownloadIdleLongerThanItsCatchUpStartsAtThePace() {
        var schedule = BandwidthPacers.download
        var now = 50.0
        for _ in 0..<100 {
            let slice = schedule.reserve(1 << 30, limit: Self.limit, now: now)
            now = max(now, slice.at)
            #expect(schedule.admit(Int64(slice.bytes), limit: Self.limit, now: now) == nil)
            schedule.arrived(Int64(slice.bytes), reserved: Int64(slice.bytes), now: now)
        }
        // 5 s later (the next part after a pause): its slices are spaced at the pace again, nothing saved up.
        now += 5
        var last = now
        for index in 0..<20 {
            let slice = schedule.reserve(1 << 30, limit: Self.limit, now: now)
            if index > 0 { #expect(slice.at - last >= Double(slice.bytes) / (Double(Self.limit) * PaceSchedule.headroom) - 1e-9) }
            last = slice.at
            now = max(now, slice.at)
        }
        // A failed range gives its room back: what is in flight is what was let through and has not arrived.
        var window = PaceWindow()
        #expect(window.admit(1000, cap: 10_000, now: 0) == nil && window.inFlight == 1000)
        window.arrived(0, reserved: 1000, now: 0.1)
        #expect(window.inFlight == 0 && window.recent == 0)
        #expect(window.admit(9000, cap: 10_000, now: 0.2) == nil)
        window.arrived(9000, reserved: 9000, now: 0.3)
        // Full: the answer is when the arrival at 0.3 leaves the window.
        #expect(window.admit(2000, cap: 10_000, now: 0.4) == 1.3)
        #expect(window.admit(2000, cap: 10_000, now: 1.3) == nil)
    }

    @Test func thePacerChargesABurstOnTheInjectedClock() {
        let clock = Mutex(10.0)
        let pacer = BandwidthPacer(bandwidth: TargetBandwidth(limitBps: Self.limit), clock: { clock.withLock { $0 } })
        let rate = Double(Self.limit) * PaceSchedule.headroom
        pacer.charge(6 << 20)
        #expect(abs(pacer.reserve(1 << 20).wait - Double(6 << 20) / rate) < 1e-9)
        // Later, after the slice's time has passed: the next burst is charged from now, the idle time not counted.
        clock.withLock { $0 = 100 }
        pacer.charge(4 << 20)
        #expect(abs(pacer.reserve(1 << 20).wait - Double(4 << 20) / rate) < 1e-9)
        // Unlimited: nothing to charge.
        let unlimited = BandwidthPacer(bandwidth: TargetBandwidth(limitBps: nil), clock: { clock.withLock { $0 } })
        unlimited.charge(6 << 20)
        #expect(unlimited.reserve(1 << 20).wait == 0)
        #expect(BandwidthPacer.downloadBurst > 0 && BandwidthPacer.downloadBurst <= 6 << 20)
    }

    @Test func unlimitedSendsEverythingAtOnceAndForgetsTheSchedule() {
        var schedule = PaceSchedule()
        _ = schedule.reserve(1 << 20, limit: 1 << 20, now: 5)
        #expect(schedule.nextStart != nil)
        let slice = schedule.reserve(50 << 20, limit: nil, now: 5)
        #expect(slice.bytes == 50 << 20 && slice.at == 5 && schedule.nextStart == nil)
        #expect(PaceSchedule.sliceBytes(limit: 65536) == 655 && PaceSchedule.sliceBytes(limit: 1 << 40) == 1 << 20)
    }

    @Test func thePacerLooksTheLimitUpForEachSliceOnTheInjectedClocks() {
        let clock = Mutex(0.0)
        // Monday 2026-12-07 07:59:59 in Berlin, then 08:00:00: the schedule's office hours start.
        let date = Mutex(Date(timeIntervalSince1970: 1_796_626_799))
        let bandwidth = TargetBandwidth(
            limitBps: 20 << 20,
            timezone: "Europe/Berlin",
            schedule: [.init(days: [2, 3, 4, 5, 6], startHour: 8, endHour: 18, limitBps: 2 << 20)]
        )
        let pacer = BandwidthPacer(bandwidth: bandwidth, clock: { clock.withLock { $0 } }, date: { date.withLock { $0 } })
        let first = pacer.reserve(10 << 20)
        #expect(first.bytes == (20 << 20) / 100 && first.wait == 0)
        let second = pacer.reserve(10 << 20)
        #expect(second.bytes == (20 << 20) / 100 && abs(second.wait - Double((20 << 20) / 100) / (Double(20 << 20) * PaceSchedule.headroom)) < 1e-9)
        date.withLock { $0 += 1 }
        clock.withLock { $0 = 1 }
        let office = pacer.reserve(10 << 20)
        #expect(office.bytes == (2 << 20) / 100 && office.wait == 0)
    }

    @Test func theWeeklyScheduleIsReadInItsZone() {
        let bandwidth = TargetBandwidth(
            limitBps: nil,
            timezone: "America/New_York",
            schedule: [
                .init(days: [1, 7], startHour: 0, endHour: 24, limitBps: 1 << 20),
                .init(days: [2], startHour: 9, endHour: 17, limitBps: 65536),
                .init(days: [2], startHour: 0, endHour: 24, limitBps: 2 << 20),
            ]
        )
        // 2026-12-07 (a Monday) 14:00 UTC is 09:00 in New York: the second entry (first match wins).
        #expect(bandwidth.limit(at: Date(timeIntervalSince1970: 1_796_652_000)) == 65536)
        // 13:59 UTC is 08:59 there: the third.
        #expect(bandwidth.limit(at: Date(timeIntervalSince1970: 1_796_651_940)) == 2 << 20)
        // Sunday 2026-12-06 03:00 UTC is still Saturday in New York: the first.
        #expect(bandwidth.limit(at: Date(timeIntervalSince1970: 1_796_526_000)) == 1 << 20)
        // Tuesday: no entry, limit_bps null: unlimited.
        #expect(bandwidth.limit(at: Date(timeIntervalSince1970: 1_796_738_400)) == nil)
    }

    @Test func theSpecTakesBandwidthOnEveryTargetAndRefusesBadValues() throws {
        func spec(_ target: String) throws -> JSONValue {
            try JSONValue.parse(#"{"v": 1, "type": "sqlite", "source": {"path": "/srv/app.db"}, "target": \#(target)}"#)
        }
        let bandwidth =
            #"{"limit_bps": 20971520, "timezone": "Europe/Berlin", "schedule": [{"days": ["mon","tue","wed","thu","fri"], "start_hour": 8, "end_hour": 18, "limit_bps": 2097152}]}"#
        for target in [
            #"{"type": "webdav", "base_url": "https://nas/dav/", "secret_name": "nas", "bandwidth": \#(bandwidth)}"#,
            #"{"type": "rclone", "remote": "b2:bucket", "secret_name": "b2", "bandwidth": \#(bandwidth)}"#,
        ] {
            let parsed = try JobSpec.parse(try spec(target))
            let limits = try #require(parsed.target.bandwidth)
            #expect(limits.limitBps == 20_971_520 && limits.timezone == "Europe/Berlin" && limits.schedule.count == 1)
            #expect(limits.schedule[0].days == [2, 3, 4, 5, 6] && limits.schedule[0].limitBps == 2_097_152)
            #expect(JobSpec.unknownFields(try spec(target)).isEmpty)
            // The stored form round-trips, and a run's location keeps it.
            #expect(try JobSpec.parse(parsed.storedJSON) == parsed)
            let location = RunLocation(target: parsed.target, jobId: "j", runId: "r")
            #expect(RunLocation(json: location.json)?.target.bandwidth == limits)
        }
        let v2 = try JSONValue.parse(
            #"{"v": 2, "source": {"type": "sqlite", "version": 1, "config": {"path": "/a.db"}}, "target": {"type": "webdav", "version": 1, "config": {"base_url": "https://nas/", "bandwidth": {"limit_bps": 65536, "burst": 1}}, "auth_refs": {"secret_name": "nas"}}}"#
        )
        #expect(try JobSpec.parse(v2).target.bandwidth?.limitBps == 65536)
        #expect(JobSpec.unknownFields(v2) == ["target.config.bandwidth.burst"])
        #expect(
            JobSpec.unknownFields(
                try spec(
                    #"{"type": "local_dir", "base_dir": "/b", "bandwidth": {"schedule": [{"days": ["mon"], "start_hour": 1, "end_hour": 2, "limit_bps": null, "x": 1}]}}"#
                )
            ) == ["target.bandwidth.schedule.0.x"]
        )
        #expect(try JobSpec.parse(try spec(#"{"type": "local_dir", "base_dir": "/b"}"#)).target.bandwidth == nil)
        #expect(try JobSpec.parse(try spec(#"{"type": "local_dir", "base_dir": "/b", "bandwidth": null}"#)).target.bandwidth == nil)
        #expect(
            try JobSpec.parse(try spec(#"{"type": "rclone", "remote": "b2:x", "secret_name": "b2", "bandwidth": {"limit_bps": null}}"#)).target
                .bandwidth?
                .limitBps == nil
        )
        // local_dir is not paced: any bandwidth on it is refused with its path (V1, V2, and a copy target's).
        let unsupported = ValidationError(
            code: "bandwidth_unsupported",
            field: "target.bandwidth",
            reason: "unsupported",
            message: "a local_dir target is not paced: bandwidth applies to webdav and rclone targets"
        )
        for value in [bandwidth, #"{"limit_bps": 65536}"#, #"{"limit_bps": null}"#] {
            #expect(throws: unsupported) { try JobSpec.parse(try spec(#"{"type": "local_dir", "base_dir": "/b", "bandwidth": \#(value)}"#)) }
        }
        let v2Local = try JSONValue.parse(
            #"{"v": 2, "source": {"type": "sqlite", "version": 1, "config": {"path": "/a.db"}}, "target": {"type": "local_dir", "version": 1, "config": {"base_dir": "/b", "bandwidth": {"limit_bps": 65536}}}}"#
        )
        #expect(throws: ValidationError.self) { try JobSpec.parse(v2Local) }
        do {
            _ = try JobSpec.parse(v2Local)
        } catch let error as ValidationError {
            #expect(error.code == "bandwidth_unsupported" && error.field == "target.config.bandwidth")
        }
        #expect(throws: ValidationError.self) {
            try JobSpec.parseTarget(
                type: "local_dir",
                try JSONValue.parse(#"{"base_dir": "/c", "bandwidth": {"limit_bps": 65536}}"#),
                field: "copies.0"
            )
        }
        let refused: [(String, String)] = [
            (#"{"limit_bps": 1000}"#, "target.bandwidth.limit_bps"),
            (#"{"limit_bps": 70000.5}"#, "target.bandwidth.limit_bps"),
            (#"{"limit_bps": "fast"}"#, "target.bandwidth.limit_bps"),
            (#"{"limit_bps": 1e300}"#, "target.bandwidth.limit_bps"),
            (#"{"timezone": "Mars/Olympus"}"#, "target.bandwidth.timezone"),
            (#"{"schedule": [{"days": ["monday"], "start_hour": 1, "end_hour": 2, "limit_bps": null}]}"#, "target.bandwidth.schedule.0.days"),
            (#"{"schedule": [{"days": [], "start_hour": 1, "end_hour": 2, "limit_bps": null}]}"#, "target.bandwidth.schedule.0.days"),
            (#"{"schedule": [{"days": ["mon"], "start_hour": 24, "end_hour": 24, "limit_bps": null}]}"#, "target.bandwidth.schedule.0.start_hour"),
            (#"{"schedule": [{"days": ["mon"], "start_hour": 9, "end_hour": 9, "limit_bps": null}]}"#, "target.bandwidth.schedule.0.end_hour"),
            (#"{"schedule": [{"days": ["mon"], "start_hour": 9, "end_hour": 10}]}"#, "target.bandwidth.schedule.0.limit_bps"),
            (#"{"schedule": {}}"#, "target.bandwidth.schedule"),
            (#""fast""#, "target.bandwidth"),
        ]
        for (value, field) in refused {
            let target = #"{"type": "rclone", "remote": "b2:x", "secret_name": "b2", "bandwidth": \#(value)}"#
            #expect(throws: ValidationError.self) { try JobSpec.parse(try spec(target)) }
            do {
                _ = try JobSpec.parse(try spec(target))
            } catch let error as ValidationError {
                #expect("\(error)".contains(field), "\(value): \(error)")
            }
        }
    }

    @Test func pacersAreSharedPerTargetAndDirectionAndReplacedWhenLimitsChange() {
        let limited = WebDAVTarget(baseURL: "https://nas/dav", secretName: "a", bandwidth: TargetBandwidth(limitBps: 1 << 20))
        var sameAddress = limited
        sameAddress.secretName = "b"
        sameAddress.baseURL = "https://nas/dav/"
        let upload = BandwidthPacers.pacer(for: .webdav(limited), .upload)
        #expect(upload != nil && upload === BandwidthPacers.pacer(for: .webdav(sameAddress), .upload))
        #expect(upload !== BandwidthPacers.pacer(for: .webdav(limited), .download))
        var changed = limited
        changed.bandwidth = TargetBandwidth(limitBps: 2 << 20)
        #expect(BandwidthPacers.pacer(for: .webdav(changed), .upload)?.bandwidth.limitBps == 2 << 20)
        #expect(BandwidthPacers.pacer(for: .webdav(WebDAVTarget(baseURL: "https://nas/dav", secretName: "a")), .upload) == nil)
        #expect(
            BandwidthPacers.pacer(
                for: .webdav(WebDAVTarget(baseURL: "https://x/", secretName: "a", bandwidth: TargetBandwidth(limitBps: nil))),
                .upload
            ) == nil
        )
    }
}
