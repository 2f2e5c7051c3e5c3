import Foundation
import Testing

@testable import Notifications

/// A receiver's refusal as the queue and the Test button show it (docs/architecture.md, "Notifications").
@Suite struct NotificationRefusalTests {
    @Test func theReceiversAnswerIsShownBoundedAndPrintable() {
        #expect(NotificationSender.refused(500, Data()).description == "HTTP 500")
        #expect(NotificationSender.refused(503, Data(" \n".utf8)).description == "HTTP 503")
        #expect(NotificationSender.refused(500, Data("receiver is down\n".utf8)).description == "HTTP 500: receiver is down")
        // Control characters (a terminal escape, a newline, NUL) become spaces; bytes that are not UTF-8 show as U+FFFD.
        #expect(
            NotificationSender.refused(400, Data([0x62, 0x61, 0x64, 0x1B, 0x5B, 0x32, 0x4A, 0x0A, 0x00, 0xFF])).description
                == "HTTP 400: bad [2J  \u{FFFD}"
        )
        let long = NotificationSender.refused(502, Data(String(repeating: "x", count: 10_000).utf8)).description
        #expect(long == "HTTP 502: " + String(repeating: "x", count: 200) + "…")
    }
}
