import MicroHTTPD
import PerfJSON
import PerfMonitor
import PerfmondAPI

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
                ("series", .array(rows.map(ExportTable.jsonRow))),
            ])
        }
    }

    /// At most this many raw events an answer: with every string bounded, about 10 MB.
    static let maxEventsLimit = 10_000

    /// `/performance/events?since=&limit=&type=&provider=&model=&endpoint=&component=&errors=true&min_duration_ms=`:
    /// the newest raw events kept that match every filter given, oldest first (seed 001's tail-requests).
    func events(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try QueryParameters(request, accepts: ["since", "limit", "type", "provider", "model", "endpoint", "component",
                                                                "errors", "min_duration_ms"], retention: retention)
        let limit = try parameters.integer("limit", in: 1...Self.maxEventsLimit) ?? 100
        var filter = EventFilter()
        filter.since = try parameters.time("since")
        if let name = parameters.value("type") {
            guard let type = EventType(name: name) else {
                throw .badRequest("type: unknown event type '\(name)'; expected one of \(EventType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.type = type
        }
        filter.provider = parameters.value("provider")
        filter.model = parameters.value("model")
        filter.endpoint = parameters.value("endpoint")
        filter.component = parameters.value("component")
        filter.errorsOnly = try parameters.choice("errors", ["true", "false"]) == "true"
        if let text = parameters.value("min_duration_ms") {
            guard let minimum = Double(text), minimum.isFinite, minimum >= 0 else {
                throw .badRequest("min_duration_ms: expected a number of milliseconds ≥ 0, got '\(text)'")
            }
            filter.minDurationMs = minimum
        }
        if request.headers["Accept"]?.contains("text/event-stream") == true { return follow(filter, backlog: limit) }
        let events = await store.recentEvents(matching: filter, limit: limit)
        return answer([("count", .int(events.count)), ("events", .array(events.map(\.json)))])
    }

    /// The same events followed live as Server-Sent Events (seed 001's `tail-requests`, `perfmond
    /// tail`): first the newest `backlog` that match, then each matching event as it is applied
    /// (`event: event`), a `missed` frame when the ring of raw events moved on faster than this
    /// follower read it, a comment every 5 s when quiet (proxies keep the connection, and a client gone
    /// is noticed: a suspended connection is not watched). At most
    /// `EventFollowers.maxFollowers` at once; a client that stops reading is cut off past 1 MiB unsent.
    func follow(_ filter: EventFilter, backlog: Int) -> Response {
        guard followers.open() else {
            return .error(503, "\(EventFollowers.maxFollowers) followers of /performance/events already; retry later")
        }
        let followers = self.followers, store = self.store
        let stream = ResponseStream(maxPendingBytes: 1 << 20) { end in followers.closed(end) }
        Task {
            var cursor: Int?, quietSince = ContinuousClock.now
            while stream.isOpen {
                let (events, missed, next) = await store.eventsApplied(after: cursor, matching: filter, limit: cursor == nil ? backlog : 10_000)
                cursor = next
                var frames: [UInt8] = []
                for event in events {
                    frames += Array("event: event\ndata: ".utf8) + event.json.renderedBytes + Array("\n\n".utf8)
                }
                if missed > 0 { frames += Array("event: missed\ndata: {\"missed\":\(missed)}\n\n".utf8) }
                if frames.isEmpty, ContinuousClock.now - quietSince > .seconds(5) { frames = Array(": still here\n\n".utf8) }
                if !frames.isEmpty {
                    quietSince = ContinuousClock.now
                    guard stream.write(frames) else { break }
                    followers.sent(events.count, missed: missed)
                }
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        var response = Response(status: 200, headers: HTTPHeaders([(name: "Content-Type", value: "text/event-stream"),
                                                                   (name: "Cache-Control", value: "no-cache")]))
        response.stream = stream
        return response
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

    /// A row as the JSON export shows it: the columns, and a custom metric's labels as an object
    /// (CSV and Prometheus keep them in `subname`, as `name="value"` pairs).
    static func jsonRow(_ row: SeriesView) -> JSONValue {
        var members = zip(columns, values(row)).map { ($0.0, $0.1) }
        if MetricKind.of(row.key.kind) != nil, let labels = MetricLabels(key: row.key.second), !labels.isEmpty {
            members.append(("labels", .object(labels.pairs.map { ($0.0, JSONValue.string($0.1)) })))
        }
        return .object(members)
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
        var writer = TextExposition(format: .prometheus, prefix: prefix)
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
