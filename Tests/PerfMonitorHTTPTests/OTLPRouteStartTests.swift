import MicroHTTPD
import PerfMonitor
@testable import PerfMonitorHTTP
import Testing
import TestSupport

/// `/v1/metrics` before the snapshot is read back: refused `503` (exporters retry it), so that a
/// cumulative point does not set a baseline the restored stream would not have needed.
@Suite struct OTLPRouteStartTests {
    func route(_ readiness: Readiness, _ counters: IngestCounters) -> OTLPRoute {
        let streams = CumulativeStreams(maxStreams: 1000, startedAt: 0), services = GenAISpanServices()
        return OTLPRoute(buffer: IngestBuffer(capacity: 1000), clock: ManualClock(), readiness: readiness, counters: counters,
                         outcomes: OTLPCounters(),
                         metrics: OTLPMetricsMapping(options: OTLPOptions(), streams: streams, services: services, catalog: nil, maxAgeSeconds: 86_400),
                         spans: OTLPSpanMapping(options: OTLPOptions(), services: services, maxAgeSeconds: 86_400), maxBodyBytes: 1 << 20)
    }

    @Test func metricsWaitForTheSnapshotAndTracesDoNot() {
        let readiness = Readiness(), counters = IngestCounters()
        let route = route(readiness, counters)
        let request = Request(method: "POST", target: "/v1/metrics", headers: [("Content-Type", "application/x-protobuf")])
        guard case let .failure(refused) = route.reading(request, .metrics) else { Issue.record("read while starting"); return }
        #expect(refused.response.status == 503 && refused.response.headers["Retry-After"] == "1")
        #expect(counters.totals(.otlpMetrics).rejectedRequests[.starting] == 1)
        if case .failure = route.reading(request, .traces) { Issue.record("spans need no snapshot") }
        readiness.becomeReady()
        if case .failure = route.reading(request, .metrics) { Issue.record("refused once serving") }
    }
}
