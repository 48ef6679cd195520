import PerfJSON
import PerfMonitor

#if canImport(Glibc)
import Glibc
#endif

/// Appends one JSON line per alert transition with seed 000's fields (`timestamp, severity,
/// component, message, current_value, threshold`, plus `state` and `metric`). A resolution is
/// written with severity `info` and the alert's own in `alert_severity`: seed 000's handler pages
/// on `severity == "critical"`, and must not page again when the problem goes away (issue 23,
/// item 11). When the file would grow past `maxBytes` it is renamed to `<path>.1` (replacing the
/// previous one) and a new one begun.
public struct FileSink: AlertSink {
    public let path: String
    public let maxBytes: Int
    public var name: String { "file" }

    public init(path: String, maxBytes: Int) {
        self.path = path
        self.maxBytes = maxBytes
    }

    public func wants(_ batch: AlertBatch) -> Bool { !batch.transitions.isEmpty }

    public func deliver(_ batch: AlertBatch) async throws {
        var text = ""
        for alert in batch.transitions {
            let resolved = alert.state == .resolved
            var fields: [(String, JSONValue)] = [
                ("timestamp", .string(RFC3339.format(alert.resolvedAt ?? alert.since))),
                ("severity", .string(resolved ? Severity.info.rawValue : alert.severity.rawValue)),
                ("component", .string(alert.component)),
                ("message", .string(resolved ? "Resolved: " + alert.message : alert.message)),
                ("current_value", .double(alert.currentValue)),
                ("threshold", .double(alert.threshold)),
                ("state", .string(alert.state.rawValue)),
                ("metric", .string(alert.metric.name)),
            ]
            if resolved { fields.append(("alert_severity", .string(alert.severity.rawValue))) }
            JSONValue.object(fields).render(into: &text)
            text += "\n"
        }
        let bytes = Array(text.utf8)
        var status = stat()
        do {
            if stat(path, &status) == 0, Int(status.st_size) + bytes.count > maxBytes, status.st_size > 0 {
                try SystemIO.rename(path, to: path + ".1", action: "rotate")
            }
            let descriptor = try SystemIO.open(path, O_WRONLY | O_CREAT | O_APPEND, mode: 0o644)
            defer { SystemIO.close(descriptor) }
            try SystemIO.writeAll(descriptor, bytes, path: path)
        } catch {
            throw AlertDeliveryError(error.description)
        }
    }
}
