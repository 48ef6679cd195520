#if canImport(Glibc)
import Glibc
#endif

/// The standard process figures Prometheus clients export, read cheaply on each scrape.
public enum ProcessStats {
    /// User plus system CPU time since start, in seconds (`/proc/self/stat`).
    public static func cpuSeconds() -> Double {
        // utime is field 14, stime field 15.
        let fields = statFields()
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The fields of `/proc/self/stat` after the command name (which may hold spaces, so the split
    /// starts after its closing parenthesis): element 0 is field 3, the state.
    static func statFields() -> [Substring] {
        guard let text = SystemIO.readIfPresent("/proc/self/stat"), let close = text.lastIndex(of: ")") else { return [] }
        return text[text.index(after: close)...].split(separator: " ")
    }

    /// Resident memory in bytes (`/proc/self/statm`, in pages).
    public static func residentBytes() -> Double {
        guard let text = SystemIO.readIfPresent("/proc/self/statm") else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE)))
    }
}
