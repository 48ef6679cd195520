/// The largest value of each field perfmond keeps (docs/api.md, "Limits"): an identifier or a
/// label longer than its limit, or a number past its range, refuses the event with the field
/// named; a free-text message or metadata value is cut, with `…` at the end, so that a long stack
/// trace does not cost the event. Together they bound what one event can make perfmond hold, and
/// keep every sum far from overflowing (a JSON answer never shows 0 for a value it lost).
public enum EventLimits {
    /// Durations (`duration_ms`, `ttft_ms`): a day.
    public static let maxMilliseconds = 86_400_000.0
    public static let maxCostUSD = 1_000_000.0
    public static let maxTokens = 1_000_000_000.0
    public static let maxBytes = 1_000_000_000_000.0
    /// Retries of one request (seed 004's `retry_count`).
    public static let maxRetries = 1_000.0
    /// A custom metric's value, in magnitude.
    public static let maxMetricMagnitude = 1e15
    /// One event kept in a million: smaller rates would weigh an event past any sane count.
    public static let minSampleRate = 0.000001
    /// `error`: cut past this many bytes.
    public static let maxMessageBytes = 1024
    public static let maxMetadataKeys = 32
    public static let maxMetadataKeyBytes = 64
    /// A metadata value: cut past this many bytes.
    public static let maxMetadataValueBytes = 256
    static let cutMarker = "…"

    /// `text` when it fits in `limit` bytes; else its longest prefix that does (whole characters)
    /// and `…`, the marker saying it was cut.
    public static func cut(_ text: String, to limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var bytes = 0
        var end = text.startIndex
        for index in text.indices {
            let size = text[index].utf8.count
            guard bytes + size <= limit - cutMarker.utf8.count else { break }
            bytes += size
            end = text.index(after: index)
        }
        return String(text[..<end]) + cutMarker
    }
}
