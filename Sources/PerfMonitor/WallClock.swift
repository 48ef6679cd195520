#if canImport(Glibc)
import Glibc
#endif

/// The time of day as perfmond reports it: Unix seconds with a fraction.
public enum WallClock {
    public static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1_000_000_000
    }
}
