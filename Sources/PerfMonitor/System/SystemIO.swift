#if canImport(Glibc)
import Glibc
#endif

/// Why a system call failed: what was being done, to what, and the system's words
/// (`cannot write /var/lib/perfmond/state.bin.tmp: No space left on device`).
public struct SystemError: Error, Sendable, CustomStringConvertible {
    /// The action, as the message says it: `read`, `create`, `write`, `rename`, `open`…
    public let action: String
    /// The path (or `a to b` for a rename).
    public let subject: String
    public let code: Int32

    public init(_ action: String, _ subject: String, code: Int32) {
        self.action = action
        self.subject = subject
        self.code = code
    }

    /// The system's words for the error (`No such file or directory`).
    public var reason: String { String(cString: strerror(code)) }
    /// The file does not exist (as opposed to existing and being unreadable).
    public var isMissing: Bool { code == ENOENT }
    public var description: String { "cannot \(action) \(subject): \(reason)" }
}

/// The system calls perfmond makes on files and sockets, in one place (as swift-nio does): each
/// retried on `EINTR`, writes looped until every byte is out, and a failure turned into a
/// `SystemError` naming the action and the path. Used by the snapshot, the configuration and
/// procfs readers, the alert file and the systemd notifier.
public enum SystemIO {
    /// Runs `call` until it is not interrupted; a negative result throws with `errno`.
    @discardableResult
    public static func retrying<T: BinaryInteger>(_ action: String, _ subject: String, _ call: () -> T) throws(SystemError) -> T {
        while true {
            let result = call()
            if result >= 0 { return result }
            if errno != EINTR { throw SystemError(action, subject, code: errno) }
        }
    }

    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0, action: String = "open") throws(SystemError) -> Int32 {
        try retrying(action, path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    public static func close(_ descriptor: Int32) {
        _ = Glibc.close(descriptor)  // never retried: on Linux the descriptor is gone even on EINTR
    }

    /// Writes every byte of `bytes`, however many calls it takes.
    public static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(SystemError) {
        var written = 0
        while written < bytes.count {
            written += try retrying("write", path) {
                bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, $0.count - written) }
            }
        }
    }

    public static func fsync(_ descriptor: Int32, path: String) throws(SystemError) {
        try retrying("write", path) { Glibc.fsync(descriptor) }
    }

    public static func rename(_ from: String, to: String, action: String = "rename") throws(SystemError) {
        try retrying(action, action == "rename" ? "\(from) to \(to)" : from) { Glibc.rename(from, to) }
    }

    /// The whole of a file's bytes (procfs, the config file, the snapshot).
    public static func readAll(_ path: String) throws(SystemError) -> [UInt8] {
        let descriptor = try open(path, O_RDONLY, action: "read")
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = try retrying("read", path) { chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) } }
            if count == 0 { return bytes }
            bytes += chunk[..<count]
        }
    }

    /// The whole of a small text file (procfs, sysfs, the config file, a token file).
    public static func readText(_ path: String) throws(SystemError) -> String {
        String(decoding: try readAll(path), as: UTF8.self)
    }

    /// The file's text, or nil: for procfs and sysfs, where a missing file means "not on this kernel".
    public static func readIfPresent(_ path: String) -> String? {
        try? readText(path)
    }
}
