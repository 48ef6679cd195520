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

    /// Writes `bytes` to a temporary file beside the snapshot, syncs it, renames it over the
    /// snapshot and syncs the directory; on a failure the temporary file is removed.
    public func write(_ bytes: [UInt8]) throws(SystemError) {
        let temporary = path + ".tmp"
        let descriptor = try SystemIO.open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600, action: "create")
        do {
            try SystemIO.writeAll(descriptor, bytes, path: temporary)
            try SystemIO.fsync(descriptor, path: temporary)
            SystemIO.close(descriptor)
            try SystemIO.rename(temporary, to: path)
        } catch {
            SystemIO.close(descriptor)  // a second close of a closed descriptor only fails with EBADF
            unlink(temporary)
            throw error
        }
        // The rename itself is durable only once the directory is synced.
        if let directory = try? SystemIO.open(Self.directory(of: path), O_RDONLY | O_DIRECTORY) {
            try? SystemIO.fsync(directory, path: Self.directory(of: path))
            SystemIO.close(directory)
        }
    }

    /// The snapshot's bytes; nil when there is no file yet.
    public func read() throws(SystemError) -> [UInt8]? {
        do {
            return try SystemIO.readAll(path)
        } catch where error.isMissing {
            return nil
        }
    }

    /// Renames an unusable snapshot to `<path>.corrupt-<unix seconds>` and returns the new name.
    public func moveAside(at time: Double) throws(SystemError) -> String {
        let target = path + ".corrupt-" + String(Int64(time.rounded(.down)))
        try SystemIO.rename(path, to: target)
        return target
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
