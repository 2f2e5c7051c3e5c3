import Foundation
import Testing

@testable import Archive

@Suite struct PipelinedSinkTests {
    /// Records what reaches it; fails on the write that crosses `failAfter` bytes.
    final class Recorder: ByteSink, @unchecked Sendable {
        // @unchecked Sendable: used by the consumer thread only, read by the test after `run` returned.
        var bytes: [UInt8] = []
        var finished = 0
        var failAfter = Int.max

        func write(_ chunk: UnsafeRawBufferPointer) throws {
            if bytes.count + chunk.count > failAfter { throw ArchiveError.corrupt("consumer failed") }
            bytes.append(contentsOf: chunk)
        }

        func finish() throws { finished += 1 }
    }

    func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    @Test func everyByteArrivesInOrderAndNextFinishesOnce() throws {
        let input = randomBytes(3_000_000)
        let recorder = Recorder()
        // A small limit makes the producer wait for the consumer again and again.
        try PipelinedSink.run(next: recorder, limit: 4096) { sink in
            var offset = 0
            var step = 1
            while offset < input.count {
                let end = min(input.count, offset + step)
                try input[offset..<end].withUnsafeBytes { try sink.write($0) }
                offset = end
                step = step * 7 % 65_537 + 1
            }
            try sink.finish()
        }
        #expect(recorder.bytes == input && recorder.finished == 1)
    }

    @Test func aConsumerFailureIsWhatTheProducerThrows() throws {
        let recorder = Recorder()
        recorder.failAfter = 100_000
        let chunk = randomBytes(1000)
        var written = 0
        #expect(throws: ArchiveError.self) {
            try PipelinedSink.run(next: recorder, limit: 10_000) { sink in
                for _ in 0..<10_000 {
                    try chunk.withUnsafeBytes { try sink.write($0) }
                    written += 1
                }
                try sink.finish()
            }
        }
        #expect(written < 10_000 && recorder.finished == 0 && recorder.bytes.count <= 100_000)
    }

    @Test func aProducerFailureStopsTheConsumerWithoutFinishingNext() throws {
        struct ProducerFailed: Error {}
        let recorder = Recorder()
        #expect(throws: ProducerFailed.self) {
            try PipelinedSink.run(next: recorder) { sink in
                try [1, 2, 3].withUnsafeBytes { try sink.write($0) }
                throw ProducerFailed()
            }
        }
        #expect(recorder.finished == 0)
    }
}
