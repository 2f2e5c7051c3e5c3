import Foundation
import Testing

@testable import bastion_api

@Suite struct NetworkPolicyTests {
    @Test func cidrMatching() {
        #expect(CIDR("10.0.0.0/8")!.contains("10.200.3.4") && !CIDR("10.0.0.0/8")!.contains("11.0.0.1"))
        #expect(CIDR("192.168.1.128/25")!.contains("192.168.1.200") && !CIDR("192.168.1.128/25")!.contains("192.168.1.10"))
        #expect(CIDR("::1/128")!.contains("::1") && !CIDR("::1/128")!.contains("::2"))
        #expect(CIDR("fd00::/8")!.contains("fd12:3456::1"))
        #expect(CIDR("127.0.0.1")!.contains("::ffff:127.0.0.1"), "IPv4-mapped IPv6 counts as IPv4")
        #expect(CIDR("10.0.0.0/33") == nil && CIDR("nonsense") == nil && CIDR("10.0.0.0/x") == nil)
    }

    @Test func clientIPWalksTrustedHopsRightToLeft() {
        let policy = NetworkPolicy(trustedProxies: [CIDR("10.0.0.0/8")!])
        #expect(policy.clientIP(peer: "10.0.0.2", forwardedFor: "198.51.100.9, 10.0.0.5") == "198.51.100.9")
        #expect(
            policy.clientIP(peer: "10.0.0.2", forwardedFor: "6.6.6.6, 198.51.100.9, 10.0.0.5") == "198.51.100.9",
            "spoofed left entries are ignored"
        )
        #expect(policy.clientIP(peer: "198.51.100.1", forwardedFor: "6.6.6.6") == "198.51.100.1", "an untrusted peer is the client")
        #expect(policy.clientIP(peer: "10.0.0.2", forwardedFor: "6.6.6.6, garbage") == "10.0.0.2", "malformed → the peer")
        #expect(policy.clientIP(peer: "10.0.0.2", forwardedFor: nil) == "10.0.0.2")
    }

    @Test func httpsPolicy() {
        let policy = NetworkPolicy(trustedProxies: [CIDR("10.0.0.0/8")!])
        #expect(policy.allows(peer: "127.0.0.1", forwardedProto: nil) && policy.allows(peer: "::1", forwardedProto: nil))
        #expect(!policy.allows(peer: "198.51.100.1", forwardedProto: nil))
        #expect(!policy.allows(peer: "198.51.100.1", forwardedProto: "https"), "only a trusted proxy may say https")
        #expect(policy.allows(peer: "10.1.1.1", forwardedProto: "https, http") && !policy.allows(peer: "10.1.1.1", forwardedProto: "http"))
        #expect(NetworkPolicy(insecureHTTP: true).allows(peer: "198.51.100.1", forwardedProto: nil))
    }

    @Test func originMustMatchSchemeHostAndPort() {
        let policy = NetworkPolicy()
        func check(
            _ origin: String?,
            host: String? = "bastion.example:9876",
            fHost: String? = nil,
            fProto: String? = nil,
            peer: String = "127.0.0.1"
        ) -> Bool {
            policy.originMatches(origin: origin, host: host, forwardedHost: fHost, forwardedProto: fProto, peer: peer)
        }
        #expect(check("http://bastion.example:9876"))
        #expect(check("http://BASTION.example:9876"))
        #expect(!check(nil) && !check("null") && !check("http://evil.example:9876") && !check("http://bastion.example:9877"))
        #expect(!check("https://bastion.example:9876"))
        #expect(check("https://bastion.example", host: "internal:9876", fHost: "bastion.example", fProto: "https"), "through a trusted proxy")
        #expect(check("http://bastion.example", host: "bastion.example:80"), "default ports")
        #expect(
            !check("https://bastion.example", host: "internal:9876", fHost: "bastion.example", fProto: "https", peer: "198.51.100.1"),
            "an untrusted peer's X-Forwarded-* are ignored"
        )
    }
}
