import CSystem

/// How the daemon asks glibc's malloc to behave. glibc raises its mmap threshold every time a
/// large block is freed (up to 32 MiB), after which scrape answers and snapshot buffers of
/// megabytes come from the heap, where their pages stay in RSS as fragments. In the soak
/// (`make soak`) RSS climbed in steps with swings of ±13 % (92 MiB at its peak) long after the
/// windows were full; with the threshold fixed it levelled off (±3–4 %). At 256 KiB, though,
/// every batch of 1,000 events was a fresh mapping: 6 times the page faults and 20–25 % less
/// batched ingest (measured); at 1 MiB (trim threshold 2 MiB) batches stay on the heap, with
/// fewer page faults than glibc's own policy.
public enum MallocPolicy {
    public static let mmapThresholdBytes = 1 << 20
    /// glibc's own variable: an operator who sets it keeps their choice.
    public static let environmentVariable = "MALLOC_MMAP_THRESHOLD_"

    /// Fixes the threshold, unless the environment already chose one.
    public static func apply(environment: [String: String]) {
        guard environment[environmentVariable] == nil else { return }
        csystem_fix_mmap_threshold(mmapThresholdBytes)
    }
}
