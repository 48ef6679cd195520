#if canImport(Glibc)
import Glibc
#endif

/// Writes `message` and a line break to stderr, then exits with `status`: how the daemon and its
/// tools end on a failure (2 for bad configuration or flags, 1 otherwise), without buffering.
public func exitWithMessage(_ message: String, status: Int32) -> Never {
    let line = Array((message + "\n").utf8)
    _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    exit(status)
}

/// Prints to stderr and exits with `status`: how the tools report a failure.
func failTool(_ message: String, status: Int32 = 1) -> Never {
    exitWithMessage("perfmond: " + message, status: status)
}
