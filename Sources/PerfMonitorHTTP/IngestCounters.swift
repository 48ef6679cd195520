import PerfMonitor
import Synchronization

/// Everything `POST /events` accepted or refused, by reason: nothing is refused silently.
/// Read by `/metrics` and `/performance/memory`.
public final class IngestCounters: Sendable {
    /// Why a request or an event was refused.
    public enum Reason: String, Sendable, CaseIterable {
        /// One event failed validation (the rest of its request may have been accepted).
        case invalid
        /// The body was not JSON at all.
        case malformed
        /// The body held no event.
        case noEvents = "no_events"
        case unsupportedMediaType = "unsupported_media_type"
        /// The ingest buffer was full: the whole request was refused.
        case queueFull = "queue_full"
        case shuttingDown = "shutting_down"
    }

    public struct Totals: Sendable, Equatable {
        public var acceptedEvents = 0
        public var acceptedRequests = 0
        /// Events refused, by reason (for whole-request refusals, every event of the request).
        public var rejectedEvents: [Reason: Int] = [:]
        /// Requests refused whole, by reason.
        public var rejectedRequests: [Reason: Int] = [:]
    }

    private let totals = Mutex(Totals())

    public init() {}

    public var current: Totals { totals.withLock { $0 } }

    /// The totals as named counters, for the snapshot.
    public var named: [String: Double] {
        let totals = current
        var named = ["ingest.accepted_events": Double(totals.acceptedEvents), "ingest.accepted_requests": Double(totals.acceptedRequests)]
        for (reason, count) in totals.rejectedEvents { named["ingest.rejected_events." + reason.rawValue] = Double(count) }
        for (reason, count) in totals.rejectedRequests { named["ingest.rejected_requests." + reason.rawValue] = Double(count) }
        return named
    }

    /// Adds the totals of a snapshot (named as `named` names them), so counters continue.
    public func restore(from snapshot: StoreSnapshot) {
        totals.withLock { totals in
            totals.acceptedEvents += snapshot.count("ingest.accepted_events")
            totals.acceptedRequests += snapshot.count("ingest.accepted_requests")
            for reason in Reason.allCases {
                let events = snapshot.count("ingest.rejected_events." + reason.rawValue)
                let requests = snapshot.count("ingest.rejected_requests." + reason.rawValue)
                if events > 0 { totals.rejectedEvents[reason, default: 0] += events }
                if requests > 0 { totals.rejectedRequests[reason, default: 0] += requests }
            }
        }
    }

    func accepted(events: Int, invalid: Int) {
        totals.withLock { totals in
            totals.acceptedEvents += events
            totals.acceptedRequests += 1
            if invalid > 0 { totals.rejectedEvents[.invalid, default: 0] += invalid }
        }
    }

    func refused(_ reason: Reason, events: Int) {
        totals.withLock { totals in
            totals.rejectedRequests[reason, default: 0] += 1
            if events > 0 { totals.rejectedEvents[reason, default: 0] += events }
        }
    }
}
