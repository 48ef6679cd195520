import PerfMonitor

/// Writes the Prometheus text exposition format 0.0.4 or OpenMetrics 1.0 straight into bytes:
/// no intermediate strings per sample, label values escaped once, families in the order given.
struct ExpositionWriter {
    enum Format {
        case prometheus, openMetrics
    }

    enum FamilyType: String {
        case counter, gauge, histogram
    }

    let format: Format
    let prefix: String
    private(set) var bytes: [UInt8] = []

    init(format: Format, prefix: String, capacity: Int = 1 << 16) {
        self.format = format
        self.prefix = prefix
        bytes.reserveCapacity(capacity)
    }

    /// Starts a family. `name` is without the prefix; counters end in `_total` here (the
    /// OpenMetrics family name drops it, as that format requires).
    mutating func family(_ name: String, _ type: FamilyType, _ help: String) {
        var familyName = prefixed(name)
        if format == .openMetrics, type == .counter, familyName.hasSuffix("_total") { familyName.removeLast(6) }
        append("# HELP "); append(familyName); append(" "); appendEscaped(help, quotes: false); append("\n")
        append("# TYPE "); append(familyName); append(" "); append(type.rawValue); append("\n")
    }

    /// One sample: `name{labels} value`.
    mutating func sample(_ name: String, _ labels: Labels, _ value: Double, suffix: String = "") {
        append(prefixed(name)); append(suffix)
        labels.write(into: &self)
        append(" "); appendNumber(value); append("\n")
    }

    /// A histogram's buckets (cumulative, `le` in seconds), `_sum` (seconds) and `_count`, from a
    /// distribution of milliseconds.
    mutating func histogram(_ name: String, _ labels: Labels, _ distribution: Distribution, bounds: [Double]) {
        let counts = distribution.cumulativeCounts(atOrBelow: bounds.map { $0 * 1000 })
        for (bound, count) in zip(bounds, counts) {
            sample(name, labels.adding("le", boundText(bound)), count, suffix: "_bucket")
        }
        sample(name, labels.adding("le", "+Inf"), distribution.count, suffix: "_bucket")
        sample(name, labels, distribution.sum / 1000, suffix: "_sum")
        sample(name, labels, distribution.count, suffix: "_count")
    }

    mutating func finish() {
        if format == .openMetrics { append("# EOF\n") }
    }

    private func prefixed(_ name: String) -> String {
        name.hasPrefix("process_") ? name : prefix + "_" + name
    }

    private func boundText(_ bound: Double) -> String {
        // OpenMetrics wants a float (1.0); both formats accept it.
        bound == bound.rounded() && abs(bound) < 1e15 ? String(Int64(bound)) + ".0" : String(bound)
    }

    mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    mutating func appendNumber(_ value: Double) {
        if value.isNaN { append("NaN"); return }
        if value.isInfinite { append(value > 0 ? "+Inf" : "-Inf"); return }
        if value == value.rounded(), abs(value) < 1e15 {
            append(String(Int64(value)))
        } else {
            append(String(value))
        }
    }

    /// Label values escape backslash, double quote and line feed; HELP text backslash and line feed.
    mutating func appendEscaped(_ text: String, quotes: Bool) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case UInt8(ascii: "\n"): bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case UInt8(ascii: "\"") where quotes: bytes.append(contentsOf: [0x5C, 0x22])
            default: bytes.append(byte)
            }
        }
    }
}

/// A sample's labels, in the order they are written.
struct Labels {
    var pairs: [(String, String)]

    init(_ pairs: [(String, String)] = []) {
        self.pairs = pairs
    }

    func adding(_ name: String, _ value: String) -> Labels {
        Labels(pairs + [(name, value)])
    }

    func write(into writer: inout ExpositionWriter) {
        guard !pairs.isEmpty else { return }
        writer.append("{")
        for (index, (name, value)) in pairs.enumerated() {
            if index > 0 { writer.append(",") }
            writer.append(name); writer.append("=\"")
            writer.appendEscaped(value, quotes: true)
            writer.append("\"")
        }
        writer.append("}")
    }
}
