import Core
import Foundation
import Testing

@testable import Targets

/// The pure parts of the targets (docs/targets.md): locations and their stored form, retry delays and error codes,
/// PROPFIND answers, rclone configurations and messages.
struct TargetsLogicTests {
    @Test func aLocationRoundTripsAndOldLocalRecordsAreRead() throws {
        let webdav = RunLocation(target: .webdav(WebDAVTarget(baseURL: "https://nas/dav", secretName: "nas")), jobId: "j", runId: "r")
        #expect(webdav.display == "https://nas/dav/j/r/" && webdav.localDirectory == nil)
        #expect(RunLocation(json: webdav.json) == webdav)
        let rclone = RunLocation(target: .rclone(RcloneTarget(remote: "box:backups/", secretName: "box")), jobId: "j", runId: "r")
        #expect(rclone.display == "box:backups/j/r" && RunLocation(json: rclone.json) == rclone)
        let legacy = try JSONValue.parse(#"{"type": "local_dir", "run_dir": "/srv/backups/j1/r1"}"#)
        let old = try #require(RunLocation(json: legacy))
        #expect(old.localDirectory == "/srv/backups/j1/r1" && old.jobId == "j1" && old.runId == "r1")
        #expect(RunLocation(json: .object(["type": "s3"])) == nil)
    }

    @Test func retryDelaysHonourRetryAfterWithCapsAndDoubleOtherwise() {
        #expect(WebDAVStore.retryDelay("2", attempt: 1, first: .seconds(1)) == .seconds(2))
        #expect(WebDAVStore.retryDelay("3600", attempt: 1, first: .seconds(1)) == .seconds(60))
        #expect(WebDAVStore.retryDelay(nil, attempt: 1, first: .seconds(1)) == .seconds(1))
        #expect(WebDAVStore.retryDelay(nil, attempt: 3, first: .seconds(1)) == .seconds(4))
        #expect(WebDAVStore.retryDelay(nil, attempt: 9, first: .seconds(1)) == .seconds(30))
        #expect(WebDAVStore.retryDelay("Wed, 21 Oct 2015 07:28:00 GMT", attempt: 1, first: .seconds(1)) == .seconds(0))
    }

    @Test func statusesBecomeCodesAndOnlyTransientOnesRetry() {
        let cases: [(UInt, String, Bool)] = [
            (401, "webdav_auth_failed", false), (403, "webdav_permission_denied", false), (404, "webdav_not_found", false),
            (409, "webdav_config", false), (413, "webdav_payload_too_large", false), (507, "webdav_storage_full", false),
            (429, "webdav_rate_limited", true), (408, "webdav_timeout", true), (504, "webdav_timeout", true),
            (503, "webdav_unavailable", true), (500, "webdav_unavailable", true), (418, "webdav_failed", false),
        ]
        for (status, code, retryable) in cases {
            let error = WebDAVStore.classify(status, method: "PUT", url: "https://user:pw@nas/dav/x?token=1")
            #expect(error.code == code && error.retryable == retryable, "\(status)")
            #expect(!error.message.contains("pw") && !error.message.contains("token"), "no credentials in \(error.message)")
        }
    }

    @Test func aMultistatusAnswerListsMembersWithSizes() {
        let xml = """
            <?xml version="1.0" encoding="utf-8"?>
            <D:multistatus xmlns:D="DAV:">
            <D:response><D:href>/dav/j/r/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype></D:prop></D:propstat></D:response>
            <D:response><D:href>/dav/j/r/payload.part000001</D:href><D:propstat><D:prop><D:resourcetype/><D:getcontentlength>1048576</D:getcontentlength></D:prop></D:propstat></D:response>
            <d:response xmlns:d="DAV:"><d:href>http://nas/dav/j/r/a%20b.json</d:href><d:propstat><d:prop><d:getcontentlength>12</d:getcontentlength></d:prop></d:propstat></d:response>
            </D:multistatus>
            """
        let items = MultistatusParser.parse(Data(xml.utf8))
        #expect(items.count == 3)
        #expect(items[0].collection && items[1].size == 1_048_576 && !items[1].collection && items[2].href.hasSuffix("a%20b.json"))
        #expect(MultistatusParser.parse(Data("not xml".utf8)).isEmpty)
    }

    @Test func rcloneConfigurationsAndMessages() throws {
        let options = try RcloneStore.parseConfig("[box]\ntype = sftp\n# comment\nhost = example.org\nkey_file = /k\n\n")
        #expect(options == ["type": "sftp", "host": "example.org", "key_file": "/k"])
        #expect(throws: TargetError.self) { try RcloneStore.parseConfig("host = x") }
        #expect(throws: TargetError.self) { try RcloneStore.parseConfig("type = sftp\nnot a pair") }
        #expect(throws: TargetError.self) { try RcloneStore.parseConfig("type = sftp\nbad-key = 1") }
        #expect(RcloneStore.classify(status: 3, stderr: "directory not found", command: "lsjson").code == "rclone_not_found")
        #expect(RcloneStore.classify(status: 1, stderr: "x is a directory or doesn't exist", command: "deletefile").code == "rclone_not_found")
        #expect(RcloneStore.classify(status: 1, stderr: "ssh: unable to authenticate", command: "mkdir").code == "rclone_auth_failed")
        #expect(RcloneStore.classify(status: 1, stderr: "write: no space left on device", command: "rcat").code == "rclone_storage_full")
        let network = RcloneStore.classify(status: 1, stderr: "dial tcp 127.0.0.1:22: connect: connection refused", command: "mkdir")
        #expect(network.code == "rclone_network" && network.retryable)
        #expect(RcloneStore.classify(status: 1, stderr: "something else", command: "cat").code == "rclone_failed")
    }

    /// rclone on the hub sees no user-level configuration or credentials from the environment.
    @Test func rcloneSeesNoConfigFromTheEnvironment() async throws {
        let environment = RcloneStore.environment([
            "PATH": "/usr/bin", "HOME": "/root", "RCLONE_CONFIG": "/root/.config/rclone/rclone.conf", "RCLONE_CONFIG_BOX_TYPE": "local",
            "AWS_ACCESS_KEY_ID": "AKIA", "SSH_AUTH_SOCK": "/tmp/agent", "XDG_CONFIG_HOME": "/root/.config",
        ])
        #expect(environment["PATH"] == "/usr/bin" && environment["RCLONE_CONFIG"] == "/nonexistent/bastion-rclone.conf")
        #expect(environment["RCLONE_CONFIG_BOX_TYPE"] == nil && environment["AWS_ACCESS_KEY_ID"] == nil && environment["SSH_AUTH_SOCK"] == nil)
        #expect(environment["HOME"] == "/nonexistent" && environment["XDG_CONFIG_HOME"] == "/nonexistent")
    }

    /// `bastion-job.json` lies on the target in the clear: a ping URL is its own credential (whoever knows it can report
    /// success for a job that failed), so it stays on the hub with the hooks.
    @Test func theJobFileOnATargetHoldsNoPingURLOrHook() throws {
        let spec = try JSONValue.parse(
            #"{"v": 1, "pings": [{"url": "https://hc-ping.com/0b1c2d3e"}], "hooks": {"before": [{"argv": ["/bin/true"]}]}}"#
        )
        let document = JobFiles.jobDocument(id: "j", name: "n", scheduleTimezone: "UTC", spec: spec, now: 1)
        #expect(document["spec"]?["pings"] == nil && document["spec"]?["hooks"] == nil && document["spec"]?["v"] != nil)
        #expect(!document.jsonString().contains("hc-ping"))
    }
}
