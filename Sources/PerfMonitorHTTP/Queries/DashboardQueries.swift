import MicroHTTPD
import PerfJSON
import PerfMonitor

extension PerformanceQueries {
    /// The page, from `Dashboard/dashboard.html` compiled into the binary: no file to install,
    /// nothing fetched from elsewhere.
    static let dashboardPage = PackageResources.dashboard_html

    /// The p95 timeline covers this many seconds, in steps of `dashboardStep`, for at most
    /// `dashboardSeries` provider × model pairs (the busiest).
    static let dashboardSpan: Int64 = 300
    static let dashboardStep: Int64 = 10
    static let dashboardSeries = 8

    /// `GET /dashboard`: the live page; with `Accept: application/json`, the data behind it
    /// (api.md §2) — what the page shows, in one answer, so one poll redraws everything.
    func dashboard(_ request: Request) async throws(QueryFailure) -> Response {
        guard Self.wantsJSON(request.headers) else {
            return Response(status: 200, headers: HTTPHeaders([("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-cache")]),
                            body: Self.dashboardPage)
        }
        let parameters = try QueryParameters(request, accepts: [], retention: retention)
        let window = try parameters.window() ?? .fiveMinutes
        let seconds = window.seconds
        let step = Self.dashboardStep, span = Self.dashboardSpan
        let (providers, endpoints, components, caches, slices, inFlight, rate) = await store.read { store in
            let slices = stride(from: span - step, through: 0, by: -Int(step)).map { ago in
                (ago, store.series(.provider, length: .seconds(step), endingAgo: .seconds(ago)))
            }
            return (store.series(.provider, window: window), store.series(.endpoint, window: window),
                    store.series(.component, window: window), store.series(.cache, window: window), slices,
                    store.inFlight().total, store.eventsPerSecondLastMinute())
        }
        // Seed 000's CLI dashboard shows the top three recommendations.
        let topRecommendations = await recommendationList(window: window).prefix(3).map { recommendation in
            JSONValue.object([("severity", .string(recommendation.severity.rawValue)), ("message", .string(recommendation.message))])
        }
        let now = clock.now()
        let busiest = providers.filter { $0.aggregate.total > 0 }.sorted { $0.aggregate.total > $1.aggregate.total }
        let charted = busiest.prefix(Self.dashboardSeries).map { "\($0.key.first)/\($0.key.second)" }
        let memory = monitor.latest?.memory ?? ProcessMemory.read()
        let firing = alertEngine.snapshot
        let totals = Aggregate.merged(providers)
        return answer([
            ("uptime_s", .double(now - startedAt)),
            ("window", .string(window.description)),
            ("health", .string(firing.systemHealth)),
            ("alerts", .array(firing.firing.map { .string($0.text) })),
            ("throughput_rps", .double(rate)),
            ("in_flight", .int(inFlight)),
            ("memory", .object([
                ("rss_mb", .double(memory.rssBytes / ByteCount.mebibyte)),
                ("heap_used_mb", .double(memory.heapUsedBytes / ByteCount.mebibyte)),
                ("memory_pressure_percent", .double(memory.pressurePercent)),
                ("cpu_percent", .double(monitor.latest?.cpuPercent ?? 0)),
            ])),
            ("totals", .object([
                ("calls", .double(totals.total)),
                ("errors", .double(totals.failures)),
                ("error_rate_percent", .double(totals.errorRatePercent)),
                ("cost_usd", .double(totals.costUSD)),
                ("input_tokens", .double(totals.inputTokens)),
                ("output_tokens", .double(totals.outputTokens)),
            ])),
            ("providers", .array(busiest.map { view in
                let a = view.aggregate
                return .object([
                    ("provider", .string(view.key.first)), ("model", .string(view.key.second)),
                    ("calls", .double(a.total)), ("rps", .double(a.total / seconds)),
                    ("p50_ms", .double(a.distribution.quantile(0.5))), ("p95_ms", .double(a.distribution.quantile(0.95))),
                    ("p99_ms", .double(a.distribution.quantile(0.99))), ("p999_ms", .double(a.distribution.quantile(0.999))),
                    ("ttft_p95_ms", .double(a.ttft.quantile(0.95))),
                    ("error_rate_percent", .double(a.errorRatePercent)), ("error_types", Aggregate.counts(a.errorTypes)),
                    ("cost_usd", .double(a.costUSD)), ("input_tokens", .double(a.inputTokens)), ("output_tokens", .double(a.outputTokens)),
                ])
            })),
            ("endpoints", .array(endpoints.filter { $0.aggregate.total > 0 }.sorted { $0.aggregate.total > $1.aggregate.total }.map { view in
                let a = view.aggregate
                return .object([
                    ("endpoint", .string(view.key.first)), ("method", .string(view.key.second)),
                    ("calls", .double(a.total)), ("rps", .double(a.total / seconds)),
                    ("p95_ms", .double(a.distribution.quantile(0.95))), ("error_rate_percent", .double(a.errorRatePercent)),
                    ("status_codes", Aggregate.counts(a.statusCodes)),
                ])
            })),
            ("components", .array(components.filter { $0.aggregate.total > 0 }.sorted { $0.aggregate.total > $1.aggregate.total }.map { view in
                let a = view.aggregate
                return .object([
                    ("component", .string(view.key.first)), ("operation", .string(view.key.second)),
                    ("calls", .double(a.total)), ("rps", .double(a.total / seconds)),
                    ("avg_ms", .double(a.distribution.mean)), ("p95_ms", .double(a.distribution.quantile(0.95))),
                    ("error_rate_percent", .double(a.errorRatePercent)),
                ])
            })),
            ("caches", .array(caches.map { view in
                let a = view.aggregate
                return .object([
                    ("scope", .string(view.key.first)), ("hits", .double(a.cacheHits)), ("misses", .double(a.cacheMisses)),
                    ("hit_ratio_percent", .double(a.cacheHitRatioPercent)),
                ])
            })),
            ("recommendations", .array(Array(topRecommendations))),
            ("timeline", .object([
                ("step_s", .int(Int(step))),
                ("series", .array(charted.map(JSONValue.string))),
                ("points", .array(slices.map { ago, views in
                    let slice = Aggregate.merged(views)
                    let p95 = views.compactMap { view -> (String, JSONValue)? in
                        let name = "\(view.key.first)/\(view.key.second)"
                        guard view.aggregate.distribution.count > 0, charted.contains(name) else { return nil }
                        return (name, .double(view.aggregate.distribution.quantile(0.95)))
                    }
                    return .object([
                        ("t", .double(now - Double(ago))), ("calls", .double(slice.total)), ("errors", .double(slice.failures)),
                        ("rps", .double(slice.total / Double(step))), ("cost_usd", .double(slice.costUSD)), ("p95_ms", .object(p95)),
                    ])
                })),
            ])),
        ])
    }

    /// Whether `/dashboard` is asked for its data rather than the page.
    static func wantsJSON(_ headers: HTTPHeaders) -> Bool {
        (headers["Accept"] ?? "").contains("application/json")
    }
}
