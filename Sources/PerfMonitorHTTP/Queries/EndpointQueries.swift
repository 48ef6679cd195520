import MicroHTTPD
import PerfJSON
import PerfMonitor

extension PerformanceQueries {
    /// `/performance/endpoints[?endpoint=]`: keyed by path, split by method (seed 002 shape).
    func endpoints(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try QueryParameters(request, accepts: ["endpoint"], retention: retention)
        let window = try parameters.window()
        let (views, inFlight) = await store.read { store in (store.series(.endpoint, window: window), store.inFlight().byEndpoint) }
        var byPath = Dictionary(grouping: views, by: \.key.first)
        if let path = parameters.value("endpoint") {
            guard let one = byPath[path] else { throw .notFound("unknown endpoint '\(path)'") }
            byPath = [path: one]
        }
        var all = Aggregate()
        let objects: [(String, JSONValue)] = byPath.sorted { $0.key < $1.key }.map { path, methods in
            let aggregate = Aggregate.merged(methods)
            all.merge(aggregate)
            let names = methods.map(\.key.second).sorted()
            return (path, .object([
                ("endpoint_path", .string(path)),
                ("method", .string(names.joined(separator: ","))),
                ("methods", .object(methods.map { ($0.key.second, endpointStats($0.aggregate, seconds: $0.spanSeconds)) })),
                ("stats", endpointStats(aggregate, seconds: span(of: methods))),
                ("status_code_counts", Aggregate.counts(aggregate.statusCodes)),
                ("in_flight", .int(inFlight[path] ?? 0)),
            ]))
        }
        return answer([
            ("endpoints_count", .int(objects.count)),
            ("endpoints", .object(objects)),
            ("aggregated", .object([
                ("total_operations", .double(all.total)),
                ("success_rate_percent", .double(all.successRatePercent)),
                ("average_duration_ms", .double(all.distribution.mean)),
                ("status_code_distribution", Aggregate.counts(all.statusCodes)),
            ])),
        ])
    }

    /// One endpoint's (or method's) figures over `seconds`: seed 002's error patterns and traffic.
    private func endpointStats(_ aggregate: Aggregate, seconds: Double) -> JSONValue {
        .object([
            ("total_operations", .double(aggregate.total)),
            ("success_rate_percent", .double(aggregate.successRatePercent)),
            ("error_rate_percent", .double(aggregate.errorRatePercent)),
            ("error_types", Aggregate.counts(aggregate.errorTypes)),
            ("throughput_rps", .double(aggregate.throughput(over: seconds))),
        ] + durationFields(aggregate.distribution, average: "avg_duration_ms") + [
            ("avg_request_bytes", .double(aggregate.total > 0 ? aggregate.requestBytes / aggregate.total : 0)),
            ("avg_response_bytes", .double(aggregate.total > 0 ? aggregate.responseBytes / aggregate.total : 0)),
            // Of the requests that sent `retry_count` (`retry_reported`): the average, the most,
            // and the share that needed one at least.
            ("retry_reported", .double(aggregate.retries.count)),
            ("avg_retry_count", .double(aggregate.retries.mean)),
            ("max_retry_count", .double(aggregate.retries.max)),
            ("retried_percent", .double(Self.retriedPercent(aggregate.retries))),
        ])
    }

    /// The share of the requests that reported retries with at least one.
    private static func retriedPercent(_ retries: Distribution) -> Double {
        guard retries.count > 0 else { return 0 }
        return (retries.count - retries.cumulativeCounts(atOrBelow: [0.5])[0]) / retries.count * 100
    }
}
