import PerfMonitor
import Synchronization

/// Everything the HTTP ways in accepted or refused, by route and reason: nothing is refused
/// silently. Read by `/metrics` and `/performance/memory`, kept in the snapshot.
public final class IngestCounters: Sendable {
    /// The HTTP ways in (`route` on `/metrics`).
    public enum Route: String, Sendable, CaseIterable {
        case events
        case litellm
        case otlpMetrics = "otlp_metrics"
        case otlpTraces = "otlp_traces"

        public var path: String {
            switch self {
            case .events: "/events"
            case .litellm: "/ingest/litellm"
            case .otlpMetrics: "/v1/metrics"
            case .otlpTraces: "/v1/traces"
            }
        }

        /// The snapshot's counter names start with this (`/events` keeps the names it had).
        var snapshotPrefix: String {
            switch self {
            case .events: "ingest."
            case .litellm: "ingest.litellm."
            case .otlpMetrics: "ingest.otlp_metrics."
            case .otlpTraces: "ingest.otlp_traces."
            }
        }
    }

    /// Why a request or an event was refused.
    public enum Reason: String, Sendable, CaseIterable {
        /// One event (or LiteLLM payload) failed validation; the rest of its request may count.
        case invalid
        /// The body was not JSON at all.
        case malformed
        /// The body held no event.
        case noEvents = "no_events"
        case unsupportedMediaType = "unsupported_media_type"
        /// The ingest buffer was full: the whole request was refused (`/events`: 429).
        case queueFull = "queue_full"
        /// The ingest buffer stayed full for the whole wait (`/ingest/litellm`: 503).
        case queueTimeout = "queue_timeout"
        /// The batch alone holds more events than the ingest buffer can (`/ingest/litellm`: 413).
        case overCapacity = "over_capacity"
        case shuttingDown = "shutting_down"
        /// Not ready yet (`/v1/metrics` while the snapshot is read back: `503`).
        case starting
        /// An item of a kind perfmond does not read (OTLP summary points).
        case unsupported
        /// A compressed body that inflated past its limit (`otlp_max_body_bytes`: `413`).
        case inflatedTooLarge = "inflated_too_large"
    }

    public struct Totals: Sendable, Equatable {
        /// Events accepted (for LiteLLM: payloads).
        public var acceptedEvents = 0
        public var acceptedRequests = 0
        /// Events refused, by reason (for whole-request refusals, every event of the request).
        public var rejectedEvents: [Reason: Int] = [:]
        /// Requests refused whole, by reason.
        public var rejectedRequests: [Reason: Int] = [:]
    }

    private let totals = Mutex([Route: Totals]())

    public init() {}

    public func totals(_ route: Route) -> Totals { totals.withLock { $0[route] ?? Totals() } }

    /// `/events`' totals.
    public var current: Totals { totals(.events) }

    /// The totals as named counters, for the snapshot.
    public var named: [String: Double] {
        var named: [String: Double] = [:]
        for route in Route.allCases {
            let totals = totals(route), prefix = route.snapshotPrefix
            named[prefix + "accepted_events"] = Double(totals.acceptedEvents)
            named[prefix + "accepted_requests"] = Double(totals.acceptedRequests)
            for (reason, count) in totals.rejectedEvents { named[prefix + "rejected_events." + reason.rawValue] = Double(count) }
            for (reason, count) in totals.rejectedRequests { named[prefix + "rejected_requests." + reason.rawValue] = Double(count) }
        }
        return named
    }

    /// Adds the totals of a snapshot (named as `named` names them), so counters continue.
    public func restore(from snapshot: StoreSnapshot) {
        totals.withLock { all in
            for route in Route.allCases {
                let prefix = route.snapshotPrefix
                var totals = all[route] ?? Totals()
                totals.acceptedEvents += snapshot.count(prefix + "accepted_events")
                totals.acceptedRequests += snapshot.count(prefix + "accepted_requests")
                for reason in Reason.allCases {
                    let events = snapshot.count(prefix + "rejected_events." + reason.rawValue)
                    let requests = snapshot.count(prefix + "rejected_requests." + reason.rawValue)
                    if events > 0 { totals.rejectedEvents[reason, default: 0] += events }
                    if requests > 0 { totals.rejectedRequests[reason, default: 0] += requests }
                }
                all[route] = totals
            }
        }
    }

    func accepted(events: Int, invalid: Int, unsupported: Int = 0, route: Route = .events) {
        totals.withLock { all in
            all[route, default: Totals()].acceptedEvents += events
            all[route, default: Totals()].acceptedRequests += 1
            if invalid > 0 { all[route, default: Totals()].rejectedEvents[.invalid, default: 0] += invalid }
            if unsupported > 0 { all[route, default: Totals()].rejectedEvents[.unsupported, default: 0] += unsupported }
        }
    }

    func refused(_ reason: Reason, events: Int, route: Route = .events) {
        totals.withLock { all in
            all[route, default: Totals()].rejectedRequests[reason, default: 0] += 1
            if events > 0 { all[route, default: Totals()].rejectedEvents[reason, default: 0] += events }
        }
    }
}
