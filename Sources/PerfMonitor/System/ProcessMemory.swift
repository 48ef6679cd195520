import CSystem

#if canImport(Glibc)
import Glibc
#endif

/// One reading of the daemon's own memory, with the meanings api.md gives each field:
/// RSS and its parts from `/proc/self/status`, page faults from `/proc/self/stat`, heap in use
/// from glibc's `mallinfo2`, and pressure from the memory cgroup's limit (or the host's memory).
public struct ProcessMemory: Sendable, Equatable {
    public var rssBytes: Double = 0
    public var anonymousBytes: Double = 0
    /// File-backed plus shared memory (`RssFile` + `RssShmem`).
    public var fileCacheBytes: Double = 0
    /// The main thread's stack (`VmStk`).
    public var stackBytes: Double = 0
    /// The most RSS the process has had (`VmHWM`).
    public var peakRSSBytes: Double = 0
    /// Bytes allocated with malloc and still in use (`uordblks` + `hblkhd`).
    public var heapUsedBytes: Double = 0
    /// Minor plus major page faults since start.
    public var pageFaults: Double = 0
    /// Usage ÷ limit × 100 of the cgroup when it has a limit below the host's memory, else the
    /// host's (1 − MemAvailable ÷ MemTotal) × 100.
    public var pressurePercent: Double = 0
    /// Pressure stall information: the share of the last 10 s in which some task waited for
    /// memory (`/proc/pressure/memory`, "some avg10"), in percent; nil where the kernel has no PSI.
    public var stallPercent: Double?

    public init() {}

    /// Reads everything now; fields that cannot be read stay 0.
    public static func read() -> ProcessMemory {
        var memory = ProcessMemory()
        let status = Self.keyedKilobytes(SystemIO.readIfPresent("/proc/self/status") ?? "")
        memory.rssBytes = status["VmRSS"] ?? 0
        memory.anonymousBytes = status["RssAnon"] ?? 0
        memory.fileCacheBytes = (status["RssFile"] ?? 0) + (status["RssShmem"] ?? 0)
        memory.stackBytes = status["VmStk"] ?? 0
        memory.peakRSSBytes = status["VmHWM"] ?? 0
        memory.heapUsedBytes = Double(csystem_heap_in_use())
        memory.pageFaults = pageFaults()
        memory.pressurePercent = pressure()
        memory.stallPercent = stall()
        return memory
    }

    /// `Key:   123 kB` lines as bytes.
    static func keyedKilobytes(_ text: String) -> [String: Double] {
        var result: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let fields = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let number = fields.first.flatMap({ Double($0) }) else { continue }
            result[String(line[..<colon])] = fields.count > 1 && fields[1] == "kB" ? number * 1024 : number
        }
        return result
    }

    private static func pageFaults() -> Double {
        // minflt is field 10, majflt field 12.
        let fields = ProcessStats.statFields()
        guard fields.count > 9, let minor = Double(fields[7]), let major = Double(fields[9]) else { return 0 }
        return minor + major
    }

    private static func pressure() -> Double {
        let host = keyedKilobytes(SystemIO.readIfPresent("/proc/meminfo") ?? "")
        let total = host["MemTotal"] ?? 0
        if let (usage, limit) = cgroupUsageAndLimit(), limit > 0, total == 0 || limit < total {
            return min(100, usage / limit * 100)
        }
        guard total > 0, let available = host["MemAvailable"] else { return 0 }
        return (1 - available / total) * 100
    }

    /// "some avg10=0.00 avg60=… " → the avg10 figure.
    static func stall(_ text: String? = SystemIO.readIfPresent("/proc/pressure/memory")) -> Double? {
        guard let line = text?.split(separator: "\n").first(where: { $0.hasPrefix("some ") }),
              let field = line.split(separator: " ").first(where: { $0.hasPrefix("avg10=") }) else { return nil }
        return Double(field.dropFirst(6))
    }

    /// The memory cgroup's usage and limit: v2 (`memory.current`/`memory.max`) or v1
    /// (`memory.usage_in_bytes`/`memory.limit_in_bytes`); nil without a limit.
    static func cgroupUsageAndLimit() -> (Double, Double)? {
        guard let membership = SystemIO.readIfPresent("/proc/self/cgroup") else { return nil }
        for line in membership.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = String(parts[2])
            if parts[0] == "0", parts[1].isEmpty {
                let directory = "/sys/fs/cgroup" + path
                guard let usage = readNumber(directory + "/memory.current"), let limit = readNumber(directory + "/memory.max") else { continue }
                return (usage, limit)
            }
            if parts[1].split(separator: ",").contains("memory") {
                for directory in ["/sys/fs/cgroup/memory" + path, "/sys/fs/cgroup/memory"] {
                    if let usage = readNumber(directory + "/memory.usage_in_bytes"), let limit = readNumber(directory + "/memory.limit_in_bytes") {
                        return (usage, limit)
                    }
                }
            }
        }
        return nil
    }

    private static func readNumber(_ path: String) -> Double? {
        SystemIO.readIfPresent(path).flatMap { Double($0.trimmingSpaces.filter { $0 != "\n" }) }
    }
}
