import MicroHTTPD
import PerfJSON
import PerfMonitor

extension PerformanceQueries {
    /// `/performance/caches[?window=]`: each cache scope's hits, misses, hit ratio and access times
    /// (seed 004's cache statistics; until now only on `/metrics`).
    func caches(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try QueryParameters(request, accepts: [], retention: retention)
        let views = await store.series(.cache, window: try parameters.window())
        return answer([
            ("caches_count", .int(views.count)),
            ("caches", .object(views.map { view in
                let a = view.aggregate
                return (view.key.first, .object([
                    ("hits", .double(a.cacheHits)),
                    ("misses", .double(a.cacheMisses)),
                    ("hit_ratio_percent", .double(a.cacheHitRatioPercent)),
                    ("avg_access_time_ms", .double(a.distribution.mean)),
                    ("p95_access_time_ms", .double(a.distribution.quantile(0.95))),
                ]))
            })),
        ])
    }

    /// `/performance/report[?window=]` (seed 002's `getPerformanceReport`): the answers of the
    /// other paths in one, each as its own path gives it, the window passed to those that take one.
    func report(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try QueryParameters(request, accepts: [], retention: retention)
        let window = try parameters.window()
        let windowed: [(String, @Sendable (Request) async throws(QueryFailure) -> Response)] = [
            ("providers", providers), ("endpoints", endpoints), ("components", components), ("caches", caches),
            ("recommendations", recommendations),
        ]
        let whole: [(String, @Sendable (Request) async throws(QueryFailure) -> Response)] = [
            ("real_time", realTime), ("memory", memory), ("alerts", alerts),
        ]
        var members: [(String, JSONValue)] = [("window", .string(window?.description ?? "since start"))]
        for (name, query) in whole + windowed {
            let takesWindow = windowed.contains { $0.0 == name }
            let part = Request(method: "GET", path: request.path,
                               query: takesWindow ? request.query.filter { $0.name == "window" } : [], headers: request.headers)
            let body = try await query(part).body
            guard let value = try? JSONParser.parse(body) else { throw .badRequest("the \(name) part could not be built") }
            members.append((name, value))
        }
        let order = ["window", "real_time", "providers", "endpoints", "components", "caches", "memory", "alerts", "recommendations"]
        return answer(order.compactMap { key in members.first { $0.0 == key } })
    }
}
