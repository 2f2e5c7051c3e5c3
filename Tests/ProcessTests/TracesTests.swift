import Foundation
import TestClients
import Testing

/// Traces (docs/observability.md, "Tracing"): the API and a worker export OTLP/HTTP to a real receiver (Python, PyPI's
/// `opentelemetry-proto`), and one run's spans form one tree, from the `POST /api/jobs/{id}/run` request through the
/// database to the worker's claim, stages and terminal write.
@Suite(.serialized) struct TracesTests {
    static let receiverScript =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path + "/Support/otlp_receiver.py"

    /// A span as the receiver wrote it.
    struct ReceivedSpan {
        var traceId, spanId, parentSpanId, name, service: String
        var start, end: UInt64
        var attributes: [String: String]

        init?(_ json: [String: Any]) {
            guard let traceId = json["trace_id"] as? String, let spanId = json["span_id"] as? String,
                let name = json["name"] as? String
            else { return nil }
            self.traceId = traceId
            self.spanId = spanId
            self.parentSpanId = json["parent_span_id"] as? String ?? ""
            self.name = name
            self.service = json["service"] as? String ?? ""
            self.start = (json["start"] as? NSNumber)?.uint64Value ?? 0
            self.end = (json["end"] as? NSNumber)?.uint64Value ?? 0
            self.attributes = json["attributes"] as? [String: String] ?? [:]
        }
    }

    static func spans(_ path: String) -> [ReceivedSpan] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]).flatMap(ReceivedSpan.init)
        }
    }

    /// The tree under `root`, one span a line, children by start time, with service and duration.
    static func tree(_ spans: [ReceivedSpan], root: ReceivedSpan) -> String {
        var lines: [String] = []
        func walk(_ span: ReceivedSpan, _ depth: Int) {
            let ms = Double(span.end &- span.start) / 1_000_000
            let method = span.attributes["http.request.method"].map { "\($0) " } ?? ""
            lines.append(String(repeating: "  ", count: depth) + "\(method)\(span.name)  [\(span.service)] \(String(format: "%.1f", ms)) ms")
            for child in spans.filter({ $0.parentSpanId == span.spanId }).sorted(by: { $0.start < $1.start }) { walk(child, depth + 1) }
        }
        walk(root, 0)
        return lines.joined(separator: "\n")
    }

    @Test func oneRunIsOneTraceFromThePostThroughTheDatabaseToTheWorkersTerminalWrite() async throws {
        let scratch = Scratch()
        let out = scratch.path + "/spans.jsonl"
        let receiverPort = freePort()
        // python3 as found on PATH: where the tests' Python packages (opentelemetry-proto) are installed.
        let receiver = try Child("/usr/bin/env", ["python3", "-u", Self.receiverScript, "\(receiverPort)", out], name: "otlp", logDir: scratch.path)
        defer { receiver.kill9() }
        guard await eventually({ receiver.log.contains("ready") }) else { throw FixtureError("otlp receiver: \(receiver.log)") }
        let otel = [
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(receiverPort)",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        ]
        let fixture = try await RunsFixture(scratch: scratch, apiEnvironment: otel)
        let worker = try await fixture.startWorker("w1", environment: otel)
        let job = try await fixture.createJob(source: try fixture.makeSourceDatabase(pages: 64))
        let run = try await fixture.enqueue(job)
        #expect(await eventually(timeout: .seconds(60)) { await fixture.status(run.id) == "success" })

        // The run span carries the run's id; its trace must hold the request and the terminal write.
        var spans: [ReceivedSpan] = []
        var runSpan: ReceivedSpan?
        let complete = await eventually(timeout: .seconds(30)) {
            spans = Self.spans(out)
            runSpan = spans.first { $0.attributes["bastion.run.id"] == run.id }
            guard let runSpan else { return false }
            let trace = spans.filter { $0.traceId == runSpan.traceId }
            return trace.contains { $0.name == "terminal write" } && trace.contains { $0.parentSpanId.isEmpty }
        }
        #expect(complete, "spans received: \(spans.map(\.name))\napi: \(fixture.api.log.suffix(2000))\nworker: \(worker.log.suffix(2000))")
        let received = try #require(runSpan)
        let trace = spans.filter { $0.traceId == received.traceId }

        // One tree: one root, the POST that enqueued the run, and every other span's parent in the same trace.
        let roots = trace.filter { $0.parentSpanId.isEmpty }
        #expect(roots.count == 1, "roots: \(roots.map(\.name))")
        let root = try #require(roots.first)
        #expect(root.name == "/api/jobs/{id}/run" && root.attributes["http.request.method"] == "POST", "\(root.name) \(root.attributes)")
        #expect(root.service == "bastion-api")
        let ids = Set(trace.map(\.spanId))
        #expect(trace.allSatisfy { $0.parentSpanId.isEmpty || ids.contains($0.parentSpanId) })
        // The run under the request (through runs.trace_context), in the worker; claim → execute (stages) → terminal write.
        #expect(received.parentSpanId == root.spanId && received.service == "bastion-worker" && received.name == "run backup")
        #expect(received.attributes["bastion.run.outcome"] == "succeeded")
        let children = trace.filter { $0.parentSpanId == received.spanId }.sorted { $0.start < $1.start }.map(\.name)
        #expect(children == ["claim", "execute", "terminal write"], "\(children)")
        let execute = try #require(trace.first { $0.name == "execute" })
        let stages = trace.filter { $0.parentSpanId == execute.spanId && $0.name.hasPrefix("stage ") }
        #expect(!stages.isEmpty, "no stage spans: \(trace.map(\.name))")
        // The bus hop that woke the workers, under the request.
        #expect(trace.contains { $0.name == "bus wake runs" && $0.parentSpanId == root.spanId }, "\(trace.map(\.name))")
        // The request span ends before the run's work; the run span covers its children.
        #expect(trace.filter { $0.parentSpanId == received.spanId }.allSatisfy { $0.start >= received.start && $0.end <= received.end })

        // Log lines carry the trace id, in both processes.
        #expect(worker.log.contains(received.traceId), "worker log without the trace id")
        #expect(fixture.api.log.contains(received.traceId), "api log without the trace id")

        print("One run's trace, as the OTLP receiver got it:\n" + Self.tree(trace, root: root))
    }
}
