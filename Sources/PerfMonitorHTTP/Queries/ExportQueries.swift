import MicroHTTPD
import PerfJSON
import PerfMonitor

extension PerformanceQueries {
    /// `/performance/export?format=json|csv|prometheus&since=&component=`: a snapshot of every series
    /// over the window (or since `since`), one row per series.
    func export(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try QueryParameters(request, accepts: ["format", "since", "component"], retention: retention)
        let format = try parameters.choice("format", ["json", "csv", "prometheus"]) ?? "json"
        var window = try parameters.window()
        if let since = try parameters.time("since") {
            guard window == nil else { throw .badRequest("give window or since, not both") }
            let seconds = clock.now() - since
            guard seconds > 0 else { throw .badRequest("since is in the future") }
            guard seconds <= retention.seconds else {
                throw .badRequest("since is older than the retention (\(retention)); data that old is no longer kept")
            }
            window = TimeSpan(milliseconds: Int64((seconds * 1000).rounded(.up)))
        }
        var rows: [SeriesView] = []
        if let component = parameters.value("component") {
            rows = await store.series(.component, window: window).filter { $0.key.first == component }
            guard !rows.isEmpty else { throw .notFound("unknown component '\(component)'") }
        } else {
            for kind in SeriesKind.allCases { rows += await store.series(kind, window: window) }
        }
        switch format {
        case "csv":
            return Response(status: 200, headers: HTTPHeaders([("Content-Type", "text/csv; charset=utf-8; header=present")]),
                            body: Array(ExportTable.csv(rows).utf8))
        case "prometheus":
            return Response(status: 200, headers: HTTPHeaders([("Content-Type", "text/plain; version=0.0.4; charset=utf-8")]),
                            body: ExportTable.prometheus(rows, prefix: "perfmond_export"))
        default:
            return answer([
                ("window_seconds", .double(window?.seconds ?? 0)),
                ("series_count", .int(rows.count)),
                ("series", .array(rows.map { row in .object(zip(ExportTable.columns, ExportTable.values(row)).map { ($0.0, $0.1) }) })),
            ])
        }
    }

    /// `/performance/events?since=&limit=`: the newest raw events kept, oldest first.
    func events(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try QueryParameters(request, accepts: ["since", "limit"], retention: retention)
        let limit = try parameters.integer("limit", in: 1...100_000) ?? 100
        let events = await store.recentEvents(since: try parameters.time("since"), limit: limit)
        return answer([("count", .int(events.count)), ("events", .array(events.map(\.json)))])
    }
}

/// The export's rows: one per series, the same columns in every format.
enum ExportTable {
    static let columns = ["kind", "name", "subname", "total", "successes", "failures", "success_rate_percent",
                          "avg_duration_ms", "p50_duration_ms", "p95_duration_ms", "p99_duration_ms", "p95_ttft_ms",
                          "cost_usd", "input_tokens", "output_tokens", "rate_limit_hits", "cache_hits", "cache_misses", "last_value"]

    static func values(_ row: SeriesView) -> [JSONValue] {
        let a = row.aggregate
        return [.string(row.key.kind.rawValue), .string(row.key.first), .string(row.key.second),
                .double(a.total), .double(a.successes), .double(a.failures), .double(a.successRatePercent),
                .double(a.distribution.mean), .double(a.distribution.quantile(0.5)), .double(a.distribution.quantile(0.95)),
                .double(a.distribution.quantile(0.99)), .double(a.ttft.quantile(0.95)),
                .double(a.costUSD), .double(a.inputTokens), .double(a.outputTokens), .double(a.rateLimitHits),
                .double(a.cacheHits), .double(a.cacheMisses), .double(a.lastValueAt.isFinite ? a.lastValue : 0)]
    }

    /// RFC 4180: CRLF line ends, a header row, fields quoted when they hold a comma, quote or line break.
    static func csv(_ rows: [SeriesView]) -> String {
        var out = columns.joined(separator: ",") + "\r\n"
        for row in rows {
            out += values(row).map { value -> String in
                guard case let .string(text) = value else { return value.rendered }
                guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }) else { return text }
                return "\"" + text.replacing("\"", with: "\"\"") + "\""
            }.joined(separator: ",") + "\r\n"
        }
        return out
    }

    /// The rows as Prometheus gauges (a snapshot of the window; `/metrics` has the live counters),
    /// written by the same exposition writer as `/metrics`.
    static func prometheus(_ rows: [SeriesView], prefix: String) -> [UInt8] {
        var writer = ExpositionWriter(format: .prometheus, prefix: prefix)
        let labels = rows.map { SeriesLabels([("kind", $0.key.kind.rawValue), ("name", $0.key.first), ("subname", $0.key.second)]) }
        let table = rows.map(values)
        for (index, column) in columns.enumerated().dropFirst(3) {
            writer.family(column, .gauge, "\(column.replacing("_", with: " ")) of the series over the export window")
            for (row, rowLabels) in zip(table, labels) {
                guard case let .number(value, _) = row[index] else { continue }
                writer.sample(rowLabels, value)
            }
        }
        writer.finish()
        return writer.bytes
    }
}

extension Event {
    /// The event as `/performance/events` shows it: the fields its kind carries that are set, in
    /// one order for every kind. `success` is shown on every event: a kind without an outcome
    /// shows `true`, an error report `false` when it names its error type.
    var json: JSONValue {
        var labels = RawLabels()
        let outcome = kind.outcome
        var success = true
        var metric: MetricSample?
        switch kind {
        case let .providerCall(call):
            (labels.requestID, labels.provider, labels.model) = (call.requestID, call.provider, call.model)
        case let .providerStart(start):
            (labels.requestID, labels.provider, labels.model) = (start.requestID, start.provider, start.model)
        case let .requestStart(start):
            (labels.requestID, labels.provider, labels.model, labels.endpoint, labels.method) =
                (start.requestID, start.provider, start.model, start.endpoint, start.method)
        case let .requestEnd(end):
            (labels.requestID, labels.provider, labels.model, labels.endpoint, labels.method) =
                (end.requestID, end.provider, end.model, end.endpoint, end.method)
        case let .request(call):
            (labels.provider, labels.model, labels.endpoint, labels.method) = (call.provider, call.model, call.endpoint, call.method)
        case let .operation(sample):
            (labels.component, labels.operation) = (sample.component, sample.operation)
        case let .cache(lookup):
            (labels.component, labels.provider) = (lookup.component, lookup.provider)
        case let .error(report):
            (labels.provider, labels.model, labels.endpoint, labels.method, labels.component, labels.operation) =
                (report.provider, report.model, report.endpoint, report.method, report.component, report.operation)
            (labels.errorType, labels.errorMessage) = (report.errorType, report.message)
            success = report.errorType == nil
        case let .rateLimit(hit):
            (labels.provider, labels.model) = (hit.provider, hit.model)
        case let .failover(failover):
            (labels.provider, labels.model) = (failover.from, failover.model)
        case let .metric(sample):
            metric = sample
        }
        if let outcome {
            (labels.errorType, labels.errorMessage, success) = (outcome.errorType, outcome.errorMessage, outcome.success)
        }
        var members: [(String, JSONValue)] = [("type", .string(type.rawValue)), ("timestamp", .double(timestamp))]
        let named: [(String, String?)] = [("request_id", labels.requestID), ("provider", labels.provider), ("model", labels.model),
                                          ("endpoint", labels.endpoint), ("method", labels.method), ("component", labels.component),
                                          ("operation", labels.operation), ("error_type", labels.errorType), ("error", labels.errorMessage),
                                          ("metric", metric?.name), ("unit", metric?.unit)]
        for (name, value) in named { if let value { members.append((name, .string(value))) } }
        let numbers: [(String, Double?)] = [("duration_ms", outcome?.durationMs), ("ttft_ms", outcome?.ttftMs), ("cost_usd", outcome?.costUSD),
                                            ("input_tokens", outcome?.inputTokens), ("output_tokens", outcome?.outputTokens),
                                            ("request_bytes", outcome?.requestBytes), ("response_bytes", outcome?.responseBytes),
                                            ("value", metric?.value)]
        for (name, value) in numbers { if let value { members.append((name, .double(value))) } }
        if let statusCode = outcome?.statusCode { members.append(("status_code", .int(statusCode))) }
        members.append(("success", .bool(success)))
        if sampleRate != .all { members.append(("sample_rate", .double(sampleRate.value))) }
        if !metadata.isEmpty { members.append(("metadata", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))) }
        return .object(members)
    }
}

/// The labels a raw event shows, gathered from whichever kind it is.
private struct RawLabels {
    var requestID, provider, model, endpoint, method, component, operation, errorType, errorMessage: String?
}
