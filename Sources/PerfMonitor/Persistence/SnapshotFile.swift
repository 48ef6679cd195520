import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The snapshot on disk: written atomically (a temporary file beside it, fsync, rename, fsync of
/// the directory), so a crash at any moment leaves either the old snapshot or the new one whole.
public struct SnapshotFile: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// Why the file could not be read or written: the path and the system's words.
    public struct IOError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public func write(_ bytes: [UInt8]) throws(IOError) {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure("cannot create \(temporary)") }
        var written = 0
        let failedWrite: Bool = bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let result = Glibc.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    return true
                }
                written += result
            }
            return false
        }
        if failedWrite || fsync(descriptor) != 0 {
            let error = failure("cannot write \(temporary)")
            close(descriptor)
            unlink(temporary)
            throw error
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let error = failure("cannot rename \(temporary) to \(path)")
            unlink(temporary)
            throw error
        }
        // The rename itself is durable only once the directory is synced.
        let directory = open(Self.directory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            _ = fsync(directory)
            close(directory)
        }
    }

    /// The snapshot's bytes; nil when there is no file yet.
    public func read() throws(IOError) -> [UInt8]? {
        do {
            return try readFileBytes(path)
        } catch where error.isMissing {
            return nil
        } catch {
            throw IOError(description: "cannot read \(path): \(error.reason)")
        }
    }

    /// Renames an unusable snapshot to `<path>.corrupt-<unix seconds>` and returns the new name.
    public func moveAside(at time: Double) throws(IOError) -> String {
        let target = path + ".corrupt-" + String(Int64(time.rounded(.down)))
        guard rename(path, target) == 0 else { throw failure("cannot rename \(path) to \(target)") }
        return target
    }

    private func failure(_ what: String) -> IOError {
        IOError(description: what + ": " + String(cString: strerror(errno)))
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// How persistence is going, for `/metrics` and `/performance/memory`.
public final class SnapshotStatus: Sendable {
    public struct Figures: Sendable, Equatable {
        public var writes = 0
        public var failures = 0
        public var lastSuccessAt: Double?
        public var lastBytes = 0
        public var lastSeconds = 0.0
        /// Series read back at start, and whether a snapshot had to be moved aside.
        public var restoredSeries = 0
        public var movedAside = 0
    }

    private let figures = Mutex(Figures())

    public init() {}

    public var current: Figures { figures.withLock { $0 } }

    public func update(_ change: (inout Figures) -> Void) {
        figures.withLock { change(&$0) }
    }
}
