import MicroHTTPD
import PerfJSON
import PerfMonitor

extension PerformanceQueries {
    /// `GET /performance/metrics[?name=][&label.KEY=VALUE…][&window=]`: the custom metrics, each
    /// with its kind, unit and series (api.md §7). A series shows the fields of its kind only.
    func metrics(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try QueryParameters(request, accepts: ["name"], prefixes: ["label."], retention: retention)
        let window = try parameters.window()
        let name = parameters.value("name")
        let wanted = request.query.filter { $0.name.hasPrefix("label.") }.map { (String($0.name.dropFirst(6)), $0.value) }
        let catalog = store.catalog.current
        var views: [SeriesView] = []
        for kind in MetricKind.allCases {
            views += await store.series(kind.seriesKind, window: window).filter { name == nil || $0.key.first == name }
        }
        let groups = Self.customMetrics(views)
        if let name, groups.isEmpty { throw .notFound("unknown custom metric '\(name)'") }
        var metrics: [(String, JSONValue)] = []
        for (metric, kind, views) in groups {
            let unit = catalog[metric]?.unit, clientBuckets = catalog[metric]?.clientBuckets == true
            let series = views.compactMap { view -> JSONValue? in
                let labels = MetricLabels(key: view.key.second) ?? .none
                let pairs = labels.pairs
                guard wanted.allSatisfy({ want in pairs.contains { $0 == want } }) else { return nil }
                return Self.seriesJSON(view, kind: kind, labels: pairs, unit: unit, clientBuckets: clientBuckets)
            }
            guard !series.isEmpty else { continue }
            var members: [(String, JSONValue)] = [("kind", .string(kind.rawValue))]
            if let unit { members.append(("unit", .string(unit))) }
            members.append(("series", .array(series)))
            metrics.append((metric, .object(members)))
        }
        return answer([("metrics_count", .int(metrics.count)), ("metrics", .object(metrics))])
    }

    /// Custom metric series grouped by name, in name order, each name with its kind (the one
    /// grouping the JSON answer and `/metrics` share).
    static func customMetrics(_ views: [SeriesView]) -> [(name: String, kind: MetricKind, series: [SeriesView])] {
        var byName: [String: (kind: MetricKind, series: [SeriesView])] = [:]
        for view in views {
            guard let kind = MetricKind.of(view.key.kind) else { continue }
            byName[view.key.first, default: (kind, [])].series.append(view)
        }
        return byName.sorted { $0.key < $1.key }.map { ($0.key, $0.value.kind, $0.value.series) }
    }

    /// One series: the fields its kind has, values in the unit they were sent in; a histogram fed
    /// from a client's explicit buckets says its percentiles are only as fine as those.
    static func seriesJSON(_ view: SeriesView, kind: MetricKind, labels: [(String, String)], unit: String?, clientBuckets: Bool = false) -> JSONValue {
        let a = view.aggregate, d = a.distribution
        // A time unit's histogram is kept in milliseconds: shown back in its own unit.
        let scale = kind == .histogram ? (TimeUnit(unit)?.milliseconds ?? 1) : 1
        var members: [(String, JSONValue)] = [("labels", .object(labels.map { ($0.0, JSONValue.string($0.1)) })), ("count", .double(a.total))]
        func add(_ fields: [(String, Double)]) { members += fields.map { ($0.0, JSONValue.double($0.1)) } }
        let spread = [("min", d.min / scale), ("max", d.max / scale), ("avg", d.mean / scale)]
        let percentiles = [("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999)].map { ($0.0, d.quantile($0.1) / scale) }
        switch kind {
        case .counter:
            add([("sum", a.valueSum), ("rate_per_second", view.spanSeconds > 0 ? a.valueSum / view.spanSeconds : 0)])
        case .gauge:
            add([("last", a.lastValue)] + spread)
        case .histogram:
            add([("sum", d.sum / scale)] + spread + percentiles)
            if clientBuckets { members.append(("resolution", .string("client_buckets"))) }
        case .set:
            add([("distinct", Double(a.distinct.count))])
            if a.distinct.isEstimated { members.append(("distinct_estimated", .bool(true))) }
        case .untyped:
            add([("sum", d.sum), ("last", a.lastValue)] + spread + percentiles)
        }
        return .object(members)
    }
}
