/// Names that arrive from StatsD and OpenTelemetry made custom metric and label names (api.md
/// §6, §7), the same way for both: what cannot be in such a name becomes `_`.
public enum MetricNaming {
    /// A name as a custom metric name (`[a-zA-Z_][a-zA-Z0-9_.-]*`): each other byte becomes `_`,
    /// and a name that does not start with a letter or `_` gets one before it. `/metrics` then
    /// writes `.` and `-` as `_` too.
    public static func metricName(_ name: String) -> String {
        let utf8 = name.utf8
        let startsWell = utf8.first.map(EventFields.isLabelStart) ?? false
        if startsWell, utf8.allSatisfy(EventFields.isMetricNameByte) { return name }
        let bytes = utf8.map { EventFields.isMetricNameByte($0) ? $0 : UInt8(ascii: "_") }
        return (startsWell ? "" : "_") + String(decoding: bytes, as: UTF8.self)
    }

    /// A tag key or attribute key as a label name: each byte outside `[a-zA-Z0-9_]` becomes `_`,
    /// and a leading digit gets a `_` before it (`service.name` → `service_name`).
    public static func labelName(_ bytes: some Collection<UInt8>) -> String {
        var name = bytes.map { EventFields.isLabelByte($0) ? $0 : UInt8(ascii: "_") }
        if let first = name.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") { name.insert(UInt8(ascii: "_"), at: 0) }
        return String(decoding: name, as: UTF8.self)
    }

    /// Whether a label name means something else to Prometheus (`__…`, `le`, `quantile`, `job`, `instance`).
    public static func isReservedLabel(_ name: String) -> Bool {
        name.hasPrefix("__") || MetricLabels.isReserved(name)
    }
}
