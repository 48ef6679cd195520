import CSystem

/// How the daemon asks glibc's malloc to behave. glibc raises its mmap threshold every time a
/// large block is freed (up to 32 MiB), after which scrape answers, snapshot buffers and large
/// batches come from the heap, where their pages stay in RSS as fragments. In the soak
/// (`make soak`) RSS climbed in steps with swings of ±13 % (92 MiB at its peak) long after the
/// windows were full; with the threshold fixed at 256 KiB it levelled at 58–62 MiB (±3 %).
public enum MallocPolicy {
    public static let mmapThresholdBytes = 256 << 10
    /// glibc's own variable: an operator who sets it keeps their choice.
    public static let environmentVariable = "MALLOC_MMAP_THRESHOLD_"

    /// Fixes the threshold, unless the environment already chose one.
    public static func apply(environment: [String: String]) {
        guard environment[environmentVariable] == nil else { return }
        csystem_fix_mmap_threshold(mmapThresholdBytes)
    }
}
