/// What became of one StatsD line (`perfmond_statsd_lines_total{outcome}`, api.md §6.3): every
/// line received is counted under exactly one.
public enum StatsDOutcome: String, Sendable, CaseIterable {
    /// Taken as a custom metric of its own name.
    case accepted
    /// Matched a `statsd_mappings` rule and taken as it says (a custom metric or the LLM stats).
    case mapped
    /// Taken, but its label set folded into `{__other__="true"}` past the series limits.
    case folded
    /// Not `name:value|type`: no name, no `:` or `|`, an unknown type, unbalanced SignalFX brackets.
    case badLine = "bad_line"
    /// A value that is not a number (or a negative counter, or an empty set member).
    case badValue = "bad_value"
    case badSampleRate = "bad_sample_rate"
    case badTimestamp = "bad_timestamp"
    /// A reserved label name (`__…`, `le`, `quantile`, `job`, `instance`) or a value over 128 bytes.
    case badLabel = "bad_label"
    /// Longer than 8 KiB (TCP), or cut short: a datagram over 64 KiB.
    case tooLong = "too_long"
    /// Its metric name was refused: past `max_custom_metrics`, a name of another kind, or one whose
    /// `/metrics` family another family already writes.
    case refusedName = "refused_name"
    /// A mapping to the LLM stats found no provider (neither in the mapping's labels nor in a tag).
    case missingProvider = "missing_provider"
    /// A DogStatsD event (`_e{`) or service check (`_sc|`): counted and ignored.
    case eventOrCheck = "event_or_check"
    /// The ingest queue stayed full for a second: the line was dropped.
    case queueFull = "queue_full"
    /// Received while the daemon stopped, after the store had taken its last events.
    case shuttingDown = "shutting_down"
}
