import Foundation
import TestClients
import Testing

/// E-mail through a real SMTP server (Python's aiosmtpd: STARTTLS with a certificate made here, AUTH required over
/// TLS), job pings and ntfy to a real HTTP receiver, delivered by real workers (docs/architecture.md, "Notifications").
@Suite(.serialized) struct EmailPingNtfyTests {
    /// An aiosmtpd server on `port` that requires STARTTLS (or speaks TLS from the first byte: mode `implicit`) and then
    /// AUTH (user `bastion`, password `s3cret`), and
    /// writes each message it accepts to `<outDir>/<n>.eml` with its envelope in `<n>.json`.
    static let smtpServerScript = #"""
        import json, os, ssl, sys, threading
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        port, cert, key, out_dir, mode = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                n = len([name for name in os.listdir(out_dir) if name.endswith(".eml")])
                base = os.path.join(out_dir, "%03d" % n)
                login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
                with open(base + ".json.tmp", "w") as f:
                    json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                               "tls": session.ssl is not None, "login": login}, f)
                with open(base + ".eml.tmp", "wb") as f:
                    f.write(envelope.original_content)
                os.rename(base + ".json.tmp", base + ".json")
                os.rename(base + ".eml.tmp", base + ".eml")
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"bastion" and auth_data.password == b"s3cret"
            return AuthResult(success=ok, handled=False, auth_data=auth_data)

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        if mode == "implicit":
            # Every byte is TLS here; aiosmtpd's auth_require_tls only knows STARTTLS, so it is off.
            controller = Controller(Handler(), hostname="127.0.0.1", port=int(port), ssl_context=context,
                                    auth_required=True, auth_require_tls=False, authenticator=authenticator)
        else:
            controller = Controller(Handler(), hostname="127.0.0.1", port=int(port), tls_context=context,
                                    require_starttls=True, auth_required=True, auth_require_tls=True,
                                    authenticator=authenticator)
        controller.start()
        print("ready", flush=True)
        threading.Event().wait()
        """#

    struct SMTPServer {
        let child: Child
        let port: Int
        let outDir: String
        let caPEM: String

        /// The messages received so far: (envelope, parsed by Python's `email` module: subject, body, headers).
        func messages() throws -> [[String: Any]] {
            let names = try FileManager.default.contentsOfDirectory(atPath: outDir).filter { $0.hasSuffix(".eml") }.sorted()
            return try names.map { name in
                let base = outDir + "/" + name.dropLast(4)
                let parse = """
                    import email, email.policy, json, sys
                    m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
                    print(json.dumps({"subject": m["subject"], "from": m["from"], "to": m["to"],
                                      "body": m.get_body().get_content(), "message_id": m["message-id"]}))
                    """
                let parsed = try Shell.run("python3 -c '\(parse)' '\(base).eml'", stderr: false).trimmed
                var message = try JSONSerialization.jsonObject(with: Data(parsed.utf8)) as? [String: Any] ?? [:]
                message["envelope"] = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: base + ".json")))
                return message
            }
        }
    }

    /// Makes a self-signed certificate for 127.0.0.1 with openssl and starts the server.
    func startSMTPServer(_ fixture: RunsFixture, mode: String = "starttls") async throws -> SMTPServer {
        let dir = fixture.scratch.path + "/smtp"
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        _ = try Shell.run(
            "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
                + "-keyout '\(dir)/key.pem' -out '\(dir)/cert.pem' 2>/dev/null",
            stderr: false
        )
        try Self.smtpServerScript.write(toFile: dir + "/server.py", atomically: true, encoding: .utf8)
        let port = freePort()
        let child = try Child(
            // python3 as found on PATH: where the tests' Python packages (aiosmtpd) are installed.
            "/usr/bin/env",
            ["python3", "-u", dir + "/server.py", "\(port)", dir + "/cert.pem", dir + "/key.pem", dir + "/out", mode],
            name: "smtp",
            logDir: fixture.scratch.path
        )
        fixture.children.append(child)
        guard await eventually(timeout: .seconds(20), { child.log.contains("ready") }) else { throw FixtureError("smtp server: \(child.log)") }
        return SMTPServer(child: child, port: port, outDir: dir + "/out", caPEM: try String(contentsOfFile: dir + "/cert.pem", encoding: .utf8))
    }

    func notifications(_ fixture: RunsFixture, channel: String? = nil) async throws -> [[String: Any]] {
        let query = channel.map { "?channel=\($0)" } ?? ""
        return try await HTTP.get(fixture.base + "/api/notifications/queue" + query).json?["items"] as? [[String: Any]] ?? []
    }

    /// An `sqlite` job with `extra` top-level spec sections (pings).
    func createJob(_ fixture: RunsFixture, source: String, name: String, extra: [String: Any]) async throws -> String {
        var spec: [String: Any] = [
            "v": 1, "type": "sqlite", "source": ["path": source, "integrity_check": true],
            "target": ["type": "local_dir", "base_dir": fixture.targetDir],
        ]
        spec.merge(extra) { _, new in new }
        let result = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": name, "overlap_policy": "queue", "spec": spec])
        guard result.status == 201, let id = result.json?["id"] as? String else {
            throw FixtureError("create job: \(result.status) \(String(decoding: result.body, as: UTF8.self))")
        }
        return id
    }

    @Test func emailArrivesOverSTARTTLSWithAuthRenderedFromTheTemplatesAndAWrongPasswordIsAClearError() async throws {
        let fixture = try await RunsFixture()
        let server = try await startSMTPServer(fixture)
        let base = fixture.base + "/api/notifications"
        let destination: [String: Any] = [
            "host": "127.0.0.1", "port": server.port, "tls": "starttls", "username": "bastion", "password": "s3cret",
            "from": "bastion@example.org", "to": ["ops@example.org", "oncall@example.org"], "ca_cert_pem": server.caPEM,
        ]
        let saved = try await HTTP.send("PUT", base + "/destinations/email/ops", json: destination)
        #expect(saved.status == 200, "\(String(decoding: saved.body, as: UTF8.self))")
        // The password is never shown; the rest is.
        let listed = try #require(try await HTTP.get(base + "/destinations").jsonArray?.first)
        let config = try #require(listed["config"] as? [String: Any])
        #expect(config["has_password"] as? Bool == true && config["host"] as? String == "127.0.0.1" && config["tls"] as? String == "starttls")
        let listing = String(decoding: try await HTTP.get(base + "/destinations").body, as: UTF8.self)
        #expect(config["password"] == nil && !listing.contains("s3cret"))
        let settings = try await HTTP.send(
            "PUT",
            base + "/settings",
            json: [
                "templates": [
                    "email": ["subject": "[{{status}}] {{job_name}} ✓", "body": "Job {{job_name}} run {{run_id}}: {{status_text}}\n{{error_line}}"]
                ]
            ]
        )
        #expect(settings.status == 200, "\(String(decoding: settings.body, as: UTF8.self))")
        #expect((settings.json?["template_variables"] as? [String])?.contains("job_name") == true)

        // The test endpoint sends through the same path.
        let test = try await HTTP.send("POST", base + "/destinations/email/ops/test")
        #expect(test.status == 200, "\(String(decoding: test.body, as: UTF8.self))")

        try await fixture.startWorker("w0")
        let job = try await createJob(fixture, source: try fixture.makeSourceDatabase(pages: 2), name: "nightly\r\nBcc: evil@example.org", extra: [:])
        let run = try await fixture.enqueue(job).id
        #expect(try await eventually(timeout: .seconds(30)) { try await notifications(fixture).first?["status"] as? String == "sent" })
        let messages = try server.messages()
        try #require(messages.count == 2, "\(messages)")
        let message = messages[1]
        // The job's name carried CR/LF: it stays in the subject as spaces and adds no header.
        #expect(message["subject"] as? String == "[success] nightly  Bcc: evil@example.org ✓", "\(message)")
        #expect((message["body"] as? String)?.contains("Job nightly") == true)
        #expect((message["body"] as? String)?.contains("run \(run): Succeeded") == true, "\(message)")
        let envelope = try #require(message["envelope"] as? [String: Any])
        #expect(envelope["tls"] as? Bool == true && envelope["login"] as? String == "bastion")
        #expect(envelope["mail_from"] as? String == "bastion@example.org")
        #expect(envelope["rcpt_tos"] as? [String] == ["ops@example.org", "oncall@example.org"])
        #expect(message["from"] as? String == "bastion@example.org")

        // A wrong password: a clear error in the queue, retried, and nothing delivered.
        var wrong = destination
        wrong["password"] = "wrong"
        #expect(try await HTTP.send("PUT", base + "/destinations/email/ops", json: wrong).status == 200)
        let failedRun = try await fixture.enqueue(job).id
        #expect(
            try await eventually(timeout: .seconds(30)) {
                try await notifications(fixture).first { $0["run_id"] as? String == failedRun }?["last_error"] as? String != nil
            }
        )
        let entry = try #require(try await notifications(fixture).first { $0["run_id"] as? String == failedRun })
        let lastError = entry["last_error"] as? String ?? ""
        #expect(lastError.hasPrefix("smtp_auth_failed:"), "\(lastError)")
        #expect(entry["status"] as? String == "queued" && entry["attempts"] as? Int == 1)
        #expect(try server.messages().count == 2)

        // Without the CA the self-signed certificate is refused: a TLS error, not a delivery.
        var untrusted = destination
        untrusted["ca_cert_pem"] = nil
        #expect(try await HTTP.send("PUT", base + "/destinations/email/ops", json: untrusted).status == 200)
        let tls = try await HTTP.send("POST", base + "/destinations/email/ops/test")
        #expect(
            tls.status == 502 && (tls.json?["message"] as? String)?.hasPrefix("smtp_tls_failed:") == true,
            "\(String(decoding: tls.body, as: UTF8.self))"
        )
        // Leaving the password out keeps the stored one (the form never sees it).
        var kept = destination
        kept["password"] = nil
        #expect(try await HTTP.send("PUT", base + "/destinations/email/ops", json: kept).status == 200)
        #expect(try await HTTP.send("POST", base + "/destinations/email/ops/test").status == 200)
        #expect(try server.messages().count == 3)
    }

    @Test func emailOverImplicitTLSIsDelivered() async throws {
        let fixture = try await RunsFixture()
        let server = try await startSMTPServer(fixture, mode: "implicit")
        let base = fixture.base + "/api/notifications/destinations/email/ops"
        let destination: [String: Any] = [
            "host": "127.0.0.1", "port": server.port, "tls": "implicit", "username": "bastion", "password": "s3cret",
            "from": "bastion@example.org", "to": ["ops@example.org"], "ca_cert_pem": server.caPEM,
        ]
        #expect(try await HTTP.send("PUT", base, json: destination).status == 200)
        let test = try await HTTP.send("POST", base + "/test")
        #expect(test.status == 200, "\(String(decoding: test.body, as: UTF8.self))")
        let messages = try server.messages()
        try #require(messages.count == 1)
        #expect((messages[0]["envelope"] as? [String: Any])?["login"] as? String == "bastion")
        #expect(messages[0]["subject"] as? String == "Bastion test notification: Bastion test notification")
    }

    @Test func emailDestinationsRefuseHeaderInjectionAndBadValues() async throws {
        let fixture = try await RunsFixture()
        let base = fixture.base + "/api/notifications/destinations/email/ops"
        let good: [String: Any] = ["host": "smtp.example.org", "port": 587, "tls": "starttls", "from": "a@example.org", "to": ["b@example.org"]]
        let cases: [(String, Any?, String)] = [
            ("from", "a@example.org\r\nBcc: c@example.org", "invalid_destination"),
            ("to", ["b@example.org\nBcc: c@example.org"], "invalid_destination"),
            ("to", [], "invalid_destination"),
            ("tls", "ssl", "invalid_destination"),
            ("port", 70000, "invalid_destination"),
            ("host", "", "invalid_destination"),
            ("password", "p", "invalid_destination"),
            ("username", "u\r\n", "invalid_destination"),
            ("ca_cert_pem", "not a certificate", "invalid_destination"),
            ("smtp_host", "x", "unknown_field"),
        ]
        for (key, value, code) in cases {
            var body = good
            body[key] = value
            let result = try await HTTP.send("PUT", base, json: body)
            #expect(result.status == 400 && result.json?["error"] as? String == code, "\(key): \(String(decoding: result.body, as: UTF8.self))")
        }
        #expect(String(decoding: try await HTTP.get(fixture.base + "/api/notifications/destinations").body, as: UTF8.self) == "[]")
        // Nothing listens on port 9: unreachable, named.
        var closed = good
        closed["host"] = "127.0.0.1"
        closed["port"] = 9
        #expect(try await HTTP.send("PUT", base, json: closed).status == 200)
        let test = try await HTTP.send("POST", base + "/test")
        #expect(
            test.status == 502 && (test.json?["message"] as? String)?.hasPrefix("smtp_unreachable:") == true,
            "\(String(decoding: test.body, as: UTF8.self))"
        )
    }

    @Test func pingsArriveStartThenSuccessInOrderWithRetriesAfterA503() async throws {
        let fixture = try await RunsFixture()
        // The first two calls (both the start ping) answer 503.
        let receiver = WebhookReceiver(port: freePort()) { index in index <= 2 ? .status(503) : .status(200) }
        try await receiver.start()
        defer { receiver.stop() }
        try await fixture.startWorker("w0", environment: NotificationDeliveryTests.scaledClock(200))
        let job = try await createJob(
            fixture,
            source: try fixture.makeSourceDatabase(pages: 2),
            name: "pinged",
            extra: ["pings": [["url": receiver.pingURL("check-1")]]]
        )
        let run = try await fixture.enqueue(job).id
        #expect(
            try await eventually(timeout: .seconds(30)) {
                try await notifications(fixture, channel: "ping").allSatisfy { $0["status"] as? String == "sent" } && receiver.requests.count >= 4
            }
        )
        try await Task.sleep(for: .milliseconds(300))
        let calls = receiver.requests.map { "\($0.path) \($0.answered ?? 0)" }
        #expect(calls == ["/ping/check-1/start 503", "/ping/check-1/start 503", "/ping/check-1/start 200", "/ping/check-1 200"], "\(calls)")
        let queue = try await notifications(fixture, channel: "ping")
        #expect(Set(queue.compactMap { $0["destination"] as? String }) == ["pings.0.start", "pings.0.success"])
        #expect(queue.first { $0["destination"] as? String == "pings.0.start" }?["attempts"] as? Int == 3)
        #expect(queue.allSatisfy { $0["run_id"] as? String == run })
        #expect(try await fixture.run(run)["status"] as? String == "success")
    }

    @Test func aFailedRunPingsStartThenFailWithItsSummaryRetriedAfterA503() async throws {
        let fixture = try await RunsFixture()
        // The fail ping's first call answers 503.
        let receiver = WebhookReceiver(port: freePort()) { index in index == 2 ? .status(503) : .status(200) }
        try await receiver.start()
        defer { receiver.stop() }
        try await fixture.startWorker("w0", environment: NotificationDeliveryTests.scaledClock(200))
        let job = try await createJob(
            fixture,
            source: fixture.scratch.path + "/missing.db",
            name: "broken",
            extra: [
                "pings": [
                    ["start_url": receiver.pingURL("s"), "failure_url": receiver.pingURL("f")]
                ]
            ]
        )
        let run = try await fixture.enqueue(job).id
        #expect(try await eventually(timeout: .seconds(30)) { receiver.requests.filter { $0.answered == 200 }.count == 2 })
        try await Task.sleep(for: .milliseconds(300))
        let calls = receiver.requests.map { "\($0.path) \($0.answered ?? 0)" }
        #expect(calls == ["/ping/s 200", "/ping/f 503", "/ping/f 200"], "\(calls)")
        let last = try #require(receiver.requests.last)
        let body = try #require(try JSONSerialization.jsonObject(with: last.body) as? [String: Any])
        #expect(body["run_id"] as? String == run && body["status"] as? String == "failed" && body["job_name"] as? String == "broken")
        let runError = try await fixture.run(run)["error"] as? String
        #expect(runError != nil && body["error"] as? String == runError)
        #expect(receiver.requests[0].body.isEmpty)
    }

    @Test func pingsInTheSpecAreValidated() async throws {
        let fixture = try await RunsFixture()
        let source = try fixture.makeSourceDatabase(pages: 1)
        let cases: [(Any, String, String)] = [
            ([["url": "ftp://x/y"]], "invalid_spec", "pings.0.url"),
            ([["url": "https://hc-ping.com/u", "start_url": "https://x/s"]], "invalid_spec", "pings.0"),
            ([["succes_url": "https://x/s"]], "unknown_field", "pings.0.succes_url"),
            (Array(repeating: ["url": "https://hc-ping.com/u"], count: 9), "invalid_spec", "pings"),
            ("https://hc-ping.com/u", "invalid_spec", "pings"),
        ]
        for (pings, code, field) in cases {
            var spec: [String: Any] = [
                "v": 1, "type": "sqlite", "source": ["path": source], "target": ["type": "local_dir", "base_dir": fixture.targetDir],
            ]
            spec["pings"] = pings
            let result = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "p", "spec": spec])
            let details = result.json?["details"] as? [String: Any]
            #expect(
                result.status == 400 && result.json?["error"] as? String == code && (details?["field"] as? String)?.hasSuffix(field) == true,
                "\(field): \(String(decoding: result.body, as: UTF8.self))"
            )
        }
    }

    @Test func ntfyGetsOnePostWithTitlePriorityTagsAndBearerToken() async throws {
        let fixture = try await RunsFixture()
        let receiver = WebhookReceiver(port: freePort()) { _ in .status(200) }
        try await receiver.start()
        defer { receiver.stop() }
        let base = fixture.base + "/api/notifications"
        let saved = try await HTTP.send(
            "PUT",
            base + "/destinations/ntfy/phone",
            json: ["url": receiver.ntfyURL("backups"), "token": "tk_secret", "priority": 4, "tags": ["backup", "floppy_disk"]]
        )
        #expect(saved.status == 200, "\(String(decoding: saved.body, as: UTF8.self))")
        #expect(
            (saved.json?["config"] as? [String: Any])?["has_token"] as? Bool == true
                && !String(decoding: saved.body, as: UTF8.self).contains("tk_secret")
        )
        try await fixture.startWorker("w0")
        let run = try await fixture.enqueue(try await fixture.createJob(source: try fixture.makeSourceDatabase(pages: 1), name: "Fotos ü")).id
        #expect(try await eventually { try await notifications(fixture).first?["status"] as? String == "sent" })
        try #require(receiver.requests.count == 1)
        let request = receiver.requests[0]
        #expect(request.path == "/ntfy/backups")
        #expect(request.headers["authorization"] == "Bearer tk_secret" && request.headers["priority"] == "4")
        #expect(request.headers["tags"] == "backup,floppy_disk")
        // Non-ASCII titles are RFC 2047 words (ntfy decodes them).
        let title = request.headers["title"] ?? ""
        let decoded = try Shell.run(
            "python3 -c 'import email.header,sys; print(str(email.header.make_header(email.header.decode_header(sys.argv[1]))))' '\(title)'",
            stderr: false
        ).trimmed
        #expect(decoded == "Bastion backup succeeded: Fotos ü", "\(title)")
        let body = String(decoding: request.body, as: UTF8.self)
        #expect(body.contains("Run \(run): Succeeded"), "\(body)")
    }
}
