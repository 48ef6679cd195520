import MicroHTTPD
import PerfJSON
import PerfMonitor

/// A query that cannot be answered: the response to send instead (400 or 404, as JSON).
struct QueryFailure: Error {
    let response: Response

    static func badRequest(_ message: String) -> QueryFailure { QueryFailure(response: .error(400, message)) }
    static func notFound(_ message: String) -> QueryFailure { QueryFailure(response: .error(404, message)) }
}

/// The query string of a `/performance/` request, checked against what its path accepts.
/// Unknown parameter names are refused (a typo like `?windw=1h` must not be silently ignored).
struct QueryParameters {
    let request: Request
    let retention: TimeSpan

    /// `prefixes` admit families of names (`label.KEY`).
    init(_ request: Request, accepts names: [String], prefixes: [String] = [], retention: TimeSpan) throws(QueryFailure) {
        self.request = request
        self.retention = retention
        let allowed = ["window"] + names
        for (name, _) in request.query where !allowed.contains(name) && !prefixes.contains(where: { name.hasPrefix($0) && name.count > $0.count }) {
            throw .badRequest("unknown query parameter '\(name)'; \(request.path) accepts: \((allowed + prefixes.map { $0 + "KEY" }).joined(separator: ", "))")
        }
        // Each parameter takes one value: a second one, or an empty one, would be silently lost.
        var seen: [String: Int] = [:]
        for (name, value) in request.query {
            seen[name, default: 0] += 1
            if seen[name] == 2 { throw .badRequest("query parameter '\(name)' is given more than once; give it once") }
            if value.isEmpty { throw .badRequest("query parameter '\(name)' is empty; give a value or leave it out") }
        }
        _ = try window()
    }

    func value(_ name: String) -> String? {
        request.queryValue(name).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `?window=`: a duration from 1 s up to the retention; nil means since start.
    func window() throws(QueryFailure) -> TimeSpan? {
        guard let text = request.queryValue("window") else { return nil }
        guard let window = TimeSpan.parse(text), window.milliseconds >= 1000 else {
            throw .badRequest("invalid window '\(text)': expected a duration of at least 1s, \(TimeSpan.syntax)")
        }
        guard window <= retention else {
            throw .badRequest("window \(window) is longer than the retention (\(retention)); the maximum is \(retention)")
        }
        return window
    }

    /// A time given as Unix seconds or RFC 3339.
    func time(_ name: String) throws(QueryFailure) -> Double? {
        guard let text = value(name) else { return nil }
        if let seconds = Double(text), seconds.isFinite { return seconds }
        if let seconds = RFC3339.parse(text) { return seconds }
        throw .badRequest("invalid \(name) '\(text)': expected Unix seconds or an RFC 3339 time (2026-11-23T10:00:00Z)")
    }

    func integer(_ name: String, in range: ClosedRange<Int>) throws(QueryFailure) -> Int? {
        guard let text = value(name) else { return nil }
        guard let number = Int(text), range.contains(number) else {
            throw .badRequest("invalid \(name) '\(text)': expected an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    func choice(_ name: String, _ options: [String]) throws(QueryFailure) -> String? {
        guard let text = value(name) else { return nil }
        guard options.contains(text) else {
            throw .badRequest("invalid \(name) '\(text)': expected one of \(options.joined(separator: ", "))")
        }
        return text
    }
}
