#if canImport(Glibc)
import Glibc
#endif

/// The standard process figures Prometheus clients export, read cheaply on each scrape.
public enum ProcessStats {
    /// User plus system CPU time since start, in seconds (`/proc/self/stat`).
    public static func cpuSeconds() -> Double {
        guard let text = readFile("/proc/self/stat"), let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state): utime is field 14, stime field 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Resident memory in bytes (`/proc/self/statm`, in pages).
    public static func residentBytes() -> Double {
        guard let text = readFile("/proc/self/statm") else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE)))
    }
}
