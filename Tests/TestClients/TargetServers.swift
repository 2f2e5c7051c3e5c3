import Foundation
import Glibc

/// A server the target tests start on 127.0.0.1 (rclone serve webdav, Apache with mod_dav, OpenSSH's sshd, the fault
/// proxy): a real process (a `Child`, so it sees SIGTERM), stopped when the test ends.
public final class ServerProcess: @unchecked Sendable {
    public let port: Int
    private let child: Child

    public init(_ executable: String, _ arguments: [String], port: Int, logPath: String) throws {
        self.port = port
        let url = URL(fileURLWithPath: logPath)
        child = try Child(executable, arguments, name: url.deletingPathExtension().lastPathComponent, logDir: url.deletingLastPathComponent().path)
    }

    deinit { stop() }

    /// SIGTERM, then SIGKILL of its process group after 5 s.
    public func stop() {
        guard child.isRunning else { return }
        child.signal(SIGTERM)
        for _ in 0..<100 where child.isRunning { usleep(50_000) }
        child.kill9()
    }

    /// Waits until the port accepts connections.
    public func waitUntilListening(timeout: Duration = .seconds(15)) async -> Bool {
        await eventually(timeout: timeout) { Self.accepts(port: port) }
    }

    public var log: String { child.log }

    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

public enum TargetServers {
    /// `rclone serve webdav root` with Basic auth.
    public static func rcloneWebDAV(root: String, user: String, password: String, logDir: String) async throws -> ServerProcess {
        let port = freePort()
        let server = try ServerProcess(
            "/usr/bin/rclone",
            ["serve", "webdav", root, "--addr", "127.0.0.1:\(port)", "--user", user, "--pass", password, "--config", "/dev/null"],
            port: port,
            logPath: logDir + "/rclone-webdav.log"
        )
        guard await server.waitUntilListening() else { throw TargetServerError("rclone serve webdav did not start: \(server.log)") }
        return server
    }

    /// Apache 2 with mod_dav over `root` (owned by www-data, which its children run as), Basic auth from an htpasswd
    /// file, and an access log of `METHOD PATH STATUS` lines in the order requests finished.
    public static func apacheWebDAV(root: String, user: String, password: String, directory: String) async throws -> ServerProcess {
        let port = freePort()
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/lock", withIntermediateDirectories: true)
        // www-data must reach the root through every parent.
        var parent = root
        while parent != "/" && !parent.isEmpty {
            chmod(parent, 0o755)
            parent = (parent as NSString).deletingLastPathComponent
        }
        let chown = try await Child.shell(
            "chown -R www-data:www-data '\(root)' '\(directory)/lock' && htpasswd -bc '\(directory)/htpasswd' '\(user)' '\(password)'",
            logDir: directory
        )
        guard chown.status == 0 else { throw TargetServerError("apache setup: \(chown.output)") }
        let modules = "/usr/lib/apache2/modules"
        let config = """
            ServerRoot "\(directory)"
            ServerName 127.0.0.1
            Listen 127.0.0.1:\(port)
            PidFile \(directory)/httpd.pid
            ErrorLog \(directory)/error.log
            LogFormat "%m %U %>s" short
            CustomLog \(directory)/access.log short
            User www-data
            Group www-data
            LoadModule mpm_event_module \(modules)/mod_mpm_event.so
            LoadModule authn_core_module \(modules)/mod_authn_core.so
            LoadModule authn_file_module \(modules)/mod_authn_file.so
            LoadModule authz_core_module \(modules)/mod_authz_core.so
            LoadModule authz_user_module \(modules)/mod_authz_user.so
            LoadModule auth_basic_module \(modules)/mod_auth_basic.so
            LoadModule dav_module \(modules)/mod_dav.so
            LoadModule dav_fs_module \(modules)/mod_dav_fs.so
            DAVLockDB \(directory)/lock/davlock
            DocumentRoot \(root)
            <Directory \(root)>
              Dav On
              AuthType Basic
              AuthName dav
              AuthUserFile \(directory)/htpasswd
              Require valid-user
            </Directory>

            """
        try config.write(toFile: directory + "/httpd.conf", atomically: true, encoding: .utf8)
        let server = try ServerProcess(
            "/usr/sbin/apache2",
            ["-f", directory + "/httpd.conf", "-DFOREGROUND"],
            port: port,
            logPath: directory + "/apache.out"
        )
        guard await server.waitUntilListening() else {
            throw TargetServerError(
                "apache did not start: \(server.log) \((try? String(contentsOfFile: directory + "/error.log", encoding: .utf8)) ?? "")"
            )
        }
        return server
    }

    /// OpenSSH's sshd on a loopback port, accepting only `clientKey` (generated here) for root, with the internal SFTP
    /// server. Returns the server and the client's private key path.
    public static func sshd(directory: String) async throws -> (server: ServerProcess, clientKey: String) {
        let port = freePort()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        let keys = try await Child.shell(
            "cd '\(directory)' && ssh-keygen -q -t ed25519 -N '' -f host_key && ssh-keygen -q -t ed25519 -N '' -f client_key && cp client_key.pub authorized_keys",
            logDir: directory
        )
        guard keys.status == 0 else { throw TargetServerError("ssh-keygen: \(keys.output)") }
        let config = """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(directory)/host_key
            AuthorizedKeysFile \(directory)/authorized_keys
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            StrictModes no
            UsePAM no
            PidFile \(directory)/sshd.pid
            Subsystem sftp internal-sftp

            """
        try config.write(toFile: directory + "/sshd_config", atomically: true, encoding: .utf8)
        let server = try ServerProcess(
            "/usr/sbin/sshd",
            ["-D", "-e", "-f", directory + "/sshd_config"],
            port: port,
            logPath: directory + "/sshd.log"
        )
        guard await server.waitUntilListening() else { throw TargetServerError("sshd did not start: \(server.log)") }
        return (server, directory + "/client_key")
    }

    /// The fault-injecting proxy (`Tests/Support/webdav_fault_proxy.py`) in front of `upstream`.
    public static func faultProxy(upstream: Int, log: String, options: [String]) async throws -> ServerProcess {
        let port = freePort()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path + "/Support/webdav_fault_proxy.py"
        let server = try ServerProcess(
            "/usr/bin/python3",
            [script, "--port", "\(port)", "--upstream", "http://127.0.0.1:\(upstream)", "--log", log] + options,
            port: port,
            logPath: log + ".out"
        )
        guard await server.waitUntilListening() else { throw TargetServerError("the fault proxy did not start: \(server.log)") }
        return server
    }
}

public struct TargetServerError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}
