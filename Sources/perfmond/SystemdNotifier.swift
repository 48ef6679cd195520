#if canImport(Glibc)
import Glibc
#endif
import PerfMonitor

/// Tells systemd how the service is doing (`Type=notify`): `READY=1` once the snapshot is restored
/// and the port is open, `RELOADING=1` around a SIGHUP, `STOPPING=1` on shutdown. One datagram to
/// `$NOTIFY_SOCKET`, as sd_notify(3) sends it; written by hand to avoid linking libsystemd for
/// a dozen lines. Without the variable (not under systemd) it does nothing.
struct SystemdNotifier: Sendable {
    let socketPath: String?

    init(environment: [String: String]) {
        let path = environment["NOTIFY_SOCKET"] ?? ""
        socketPath = path.isEmpty ? nil : path
    }

    func ready(status: String) { send("READY=1\nSTATUS=\(status)") }
    func reloading() { send("RELOADING=1") }
    func stopping() { send("STOPPING=1") }

    private func send(_ message: String) {
        guard let socketPath else { return }
        guard let descriptor = try? SystemIO.retrying("open", socketPath, {
            socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }) else { return }
        defer { SystemIO.close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        // A leading '@' names a socket in the abstract namespace: a NUL byte in the address.
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in pathBytes.enumerated() { raw[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count)
        let bytes = Array(message.utf8)
        // Best effort, as sd_notify(3): a notification that cannot be sent is not retried later.
        _ = try? SystemIO.retrying("send to", socketPath) {
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    sendto(descriptor, bytes, bytes.count, Int32(MSG_NOSIGNAL), socketAddress, length)
                }
            }
        }
    }
}
