import MicroHTTPD
import PerfJSON
import PerfMonitor

#if canImport(Glibc)
import Glibc
#endif

extension PerformanceQueries {
    /// `/performance/components[?component=]` (seed 000 `get_performance_stats`); `error_rate` and
    /// `success_rate` are percentages.
    func components(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try QueryParameters(request, accepts: ["component"], retention: retention)
        let window = try parameters.window()
        let (views, inFlight) = await store.read { store in (store.series(.component, window: window), store.inFlight().byComponent) }
        var byName = Dictionary(grouping: views, by: \.key.first)
        if let name = parameters.value("component") {
            guard let one = byName[name] else { throw .notFound("unknown component '\(name)'") }
            byName = [name: one]
        }
        let objects: [(String, JSONValue)] = byName.sorted { $0.key < $1.key }.map { name, operations in
            let fields = componentFields(Aggregate.merged(operations), seconds: span(of: operations))
            let perOperation = operations.map { ($0.key.second, JSONValue.object(componentFields($0.aggregate, seconds: $0.spanSeconds))) }
            // Tasks started (request_start naming the component) and not yet ended.
            return (name, .object(fields + [("in_flight", .int(inFlight[name] ?? 0)), ("operations", .object(perOperation))]))
        }
        return answer([("components_count", .int(objects.count)), ("components", .object(objects))])
    }

    private func componentFields(_ aggregate: Aggregate, seconds: Double) -> [(String, JSONValue)] {
        [
            ("total_calls", .double(aggregate.total)),
            ("failed_calls", .double(aggregate.failures)),
            ("error_rate", .double(aggregate.errorRatePercent)),
            ("success_rate", .double(aggregate.successRatePercent)),
        ] + durationFields(aggregate.distribution, average: "avg_duration_ms") + [
            ("throughput_per_second", .double(aggregate.throughput(over: seconds))),
        ]
    }

    /// `/performance/compare?a=&b=` (seed 000 `compare_implementations`): how many times better B
    /// is than A over the same window, and whether the latency difference is significant.
    func compare(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try QueryParameters(request, accepts: ["a", "b"], retention: retention)
        guard let nameA = parameters.value("a"), let nameB = parameters.value("b") else {
            throw .badRequest("compare needs both ?a= and ?b= (component or provider names)")
        }
        let window = try parameters.window()
        let a = try await side(nameA, window: window), b = try await side(nameB, window: window)
        let throughputA = a.aggregate.throughput(over: a.seconds), throughputB = b.aggregate.throughput(over: b.seconds)
        let test = WelchTest(a.aggregate.distribution, b.aggregate.distribution)
        return answer([
            ("a", .string(nameA)),
            ("b", .string(nameB)),
            ("samples", .object([("a", .double(a.aggregate.total)), ("b", .double(b.aggregate.total))])),
            ("speed_improvement", .object([
                ("avg_latency", .double(ratio(a.aggregate.distribution.mean, b.aggregate.distribution.mean))),
                ("p95_latency", .double(ratio(a.aggregate.distribution.quantile(0.95), b.aggregate.distribution.quantile(0.95)))),
                ("throughput", .double(ratio(throughputB, throughputA))),
            ])),
            ("reliability", .object([
                ("a_success_rate", .double(a.aggregate.successRatePercent)),
                ("b_success_rate", .double(b.aggregate.successRatePercent)),
                ("reliability_improvement", .double(b.aggregate.successRatePercent - a.aggregate.successRatePercent)),
            ])),
            ("significant", .bool(test.significant)),
            ("significance_test", .object([
                ("method", .string("welch_t_test_on_mean_latency")),
                ("t_statistic", .double(test.t)),
                ("p_value", .double(test.pValue)),
                ("min_samples_per_side", .int(WelchTest.minimumSamples)),
            ])),
        ])
    }

    /// A compared side: the component of that name, else the provider.
    private func side(_ name: String, window: TimeSpan?) async throws(QueryFailure) -> (aggregate: Aggregate, seconds: Double) {
        let components = await store.series(.component, window: window).filter { $0.key.first == name }
        if !components.isEmpty { return (Aggregate.merged(components), span(of: components)) }
        let providers = await store.series(.provider, window: window).filter { $0.key.first == name }
        if !providers.isEmpty { return (Aggregate.merged(providers), span(of: providers)) }
        throw .notFound("unknown component or provider '\(name)'")
    }

    private func ratio(_ numerator: Double, _ denominator: Double) -> Double {
        denominator > 0 ? numerator / denominator : 0
    }
}

/// Welch's t-test on two means, with the normal approximation of the t distribution: valid
/// with at least 30 samples per side, so fewer are never called significant.
struct WelchTest {
    static let minimumSamples = 30
    let t: Double
    let pValue: Double
    let significant: Bool

    init(_ a: Distribution, _ b: Distribution) {
        let standardError = (a.variance / Swift.max(a.count, 1) + b.variance / Swift.max(b.count, 1)).squareRoot()
        t = standardError > 0 ? (a.mean - b.mean) / standardError : 0
        let enough = a.count >= Double(Self.minimumSamples) && b.count >= Double(Self.minimumSamples)
        pValue = enough ? erfc(abs(t) / 2.0.squareRoot()) : 1
        significant = enough && pValue < 0.05
    }
}
