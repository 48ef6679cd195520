import Synchronization

/// The custom metric names in use: each with its kind and the sample names its `/metrics` family
/// writes. The decoder asks it about every `metric` event (a name that changes kind, a name past
/// `max_custom_metrics`, a family that would write a name another family writes: each refused with
/// its reason in the answer to the POST); the store registers a name when its first event is
/// applied and forgets it when its last series is pruned.
public final class MetricCatalog: Sendable {
    public struct Entry: Sendable, Equatable {
        public let kind: MetricKind
        /// The unit of its first event (a histogram of a time unit is shown in seconds).
        public let unit: String?
        /// The sample names its family writes on `/metrics`.
        public let sampleNames: [String]
        /// Fed by explicit-bucket OTLP histograms: its percentiles are only as fine as the client's
        /// buckets (`"resolution": "client_buckets"` in JSON).
        public var clientBuckets = false
    }

    public let maxNames: Int
    /// Prepended to every custom family's name on `/metrics` (`custom_metric_prefix`).
    public let familyPrefix: String
    /// The prefix of perfmond's own families (`metric_prefix`): no custom family may write under it.
    public let builtinPrefix: String
    private let entries = Mutex<[String: Entry]>([:])

    public init(maxNames: Int = 500, familyPrefix: String = "", builtinPrefix: String = "perfmond") {
        self.maxNames = maxNames
        self.familyPrefix = familyPrefix
        self.builtinPrefix = builtinPrefix
    }

    public var current: [String: Entry] { entries.withLock { $0 } }

    /// Takes the name of a decoded event (registering it when new), or says why it cannot be
    /// taken. Registering at decode, not at apply, lets the next request see the name while its
    /// events still wait in the ingest buffer; a name registered by a request then refused whole
    /// (queue full) goes at the next maintenance tick, which keeps only names with series.
    public func admit(_ sample: MetricSample) -> String? {
        admit(sample.name, sample.kind, unit: sample.unit)
    }

    /// The same for a name, kind and unit before any value of theirs (a StatsD line's shape).
    public func admit(_ name: String, _ kind: MetricKind, unit: String?) -> String? {
        // The usual case, a known name: one lookup, nothing computed.
        let known = entries.withLock { $0[name]?.kind }
        if let known {
            return known == kind ? nil
                : "field 'kind': metric '\(name)' is a \(known.rawValue), not a \(kind.rawValue); a name keeps its first kind"
        }
        let names = sampleNames(name, kind, unit: unit)
        return entries.withLock { entries in
            if let entry = entries[name] {
                return entry.kind == kind ? nil
                    : "field 'kind': metric '\(name)' is a \(entry.kind.rawValue), not a \(kind.rawValue); a name keeps its first kind"
            }
            if entries.count >= maxNames {
                return "field 'metric': '\(name)' would be custom metric \(maxNames + 1), past max_custom_metrics (\(maxNames)); the name is refused"
            }
            if let collision = Self.collision(names, name, in: entries, builtinPrefix: builtinPrefix) { return collision }
            entries[name] = Entry(kind: kind, unit: unit, sampleNames: names)
            return nil
        }
    }

    /// Marks a histogram fed from a client's explicit buckets (see `Entry.clientBuckets`).
    public func noteClientBuckets(_ name: String) {
        entries.withLock { entries in
            if entries[name]?.clientBuckets == false { entries[name]?.clientBuckets = true }
        }
    }

    /// Registers the name of an event being applied (again, if a maintenance tick forgot it in
    /// between); false when it conflicts after all, with a kind or family taken meanwhile.
    func register(_ sample: MetricSample) -> Bool {
        admit(sample) == nil
    }

    /// Keeps only the names that still have series (after pruning or a restore), with their kinds.
    func replace(with kinds: [String: (MetricKind, String?)]) {
        var fresh: [String: Entry] = [:]
        for (name, (kind, unit)) in kinds { fresh[name] = Entry(kind: kind, unit: unit, sampleNames: sampleNames(name, kind, unit: unit)) }
        entries.withLock { $0 = fresh }
    }

    /// The family name of a custom metric on `/metrics`: the prefix, then the name with every
    /// character outside `[a-zA-Z0-9_]` as `_`; `_seconds` after a histogram of a time unit.
    public func familyName(_ name: String, _ kind: MetricKind, unit: String?) -> String {
        var family = familyPrefix + String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") ? $0 : "_" })
        if let first = family.first, first.isNumber { family = "_" + family }
        if kind == .histogram, TimeUnit(unit) != nil, !family.hasSuffix("_seconds") { family += "_seconds" }
        return family
    }

    /// What the family writes: a counter `_total` (once), a histogram `_bucket`, `_sum`, `_count`;
    /// an untyped metric writes into perfmond's own `custom_metric` families, nothing of its own.
    func sampleNames(_ name: String, _ kind: MetricKind, unit: String?) -> [String] {
        let family = familyName(name, kind, unit: unit)
        switch kind {
        case .untyped: return []
        case .counter: return [family.hasSuffix("_total") ? family : family + "_total"]
        case .gauge, .set: return [family]
        case .histogram: return [family + "_bucket", family + "_sum", family + "_count"]
        }
    }

    private static func collision(_ names: [String], _ metric: String, in entries: [String: Entry], builtinPrefix: String) -> String? {
        for name in names {
            if name.hasPrefix(builtinPrefix + "_") || name.hasPrefix("process_") {
                return "field 'metric': '\(metric)' would write \(name) on /metrics, under the names perfmond's own families use (\(builtinPrefix)_…, process_…)"
            }
            if let (other, _) = entries.first(where: { $0.value.sampleNames.contains(name) }) {
                return "field 'metric': '\(metric)' would write \(name) on /metrics, which custom metric '\(other)' already writes"
            }
        }
        return nil
    }
}

/// A time unit of a custom metric: its values are durations, recorded in milliseconds and shown
/// in seconds on `/metrics`.
public enum TimeUnit: String, Sendable {
    case ns, us, ms, s

    public init?(_ unit: String?) {
        guard let unit, let known = TimeUnit(rawValue: unit) else { return nil }
        self = known
    }

    /// Milliseconds per unit.
    public var milliseconds: Double {
        switch self {
        case .ns: 1e-6
        case .us: 1e-3
        case .ms: 1
        case .s: 1000
        }
    }
}
