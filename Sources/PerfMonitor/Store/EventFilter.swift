/// Which raw events a `/performance/events` query wants (seed 001's `tail-requests` filters):
/// every condition given must hold; none given keeps every event.
public struct EventFilter: Sendable, Equatable {
    public var since: Double?
    public var type: EventType?
    public var provider: String?
    public var model: String?
    public var endpoint: String?
    public var component: String?
    /// Only failed calls and error or timeout events.
    public var errorsOnly = false
    public var minDurationMs: Double?

    public init() {}

    public func matches(_ event: Event) -> Bool {
        if let since, event.timestamp < since { return false }
        if let type, event.type != type { return false }
        let names = Self.names(of: event.kind)
        if let provider, names.provider != provider { return false }
        if let model, names.model != model { return false }
        if let endpoint, names.endpoint != endpoint { return false }
        if let component, names.component != component { return false }
        if errorsOnly {
            let failed: Bool
            switch event.kind {
            case .error: failed = true
            default: failed = event.kind.outcome.map { !$0.success } ?? false
            }
            if !failed { return false }
        }
        if let minDurationMs, (event.kind.outcome?.durationMs ?? -1) < minDurationMs { return false }
        return true
    }

    /// The provider, model, endpoint and component an event names, whatever its kind.
    private static func names(of kind: EventKind) -> (provider: String?, model: String?, endpoint: String?, component: String?) {
        switch kind {
        case let .providerCall(call): (call.provider, call.model, nil, nil)
        case let .providerStart(start): (start.provider, start.model, nil, nil)
        case let .requestStart(start): (start.provider, start.model, start.endpoint, nil)
        case let .requestEnd(end): (end.provider, end.model, end.endpoint, nil)
        case let .request(call): (call.provider, call.model, call.endpoint, nil)
        case let .operation(sample): (nil, nil, nil, sample.component)
        case let .cache(lookup): (lookup.provider, nil, nil, lookup.component)
        case let .error(report): (report.provider, report.model, report.endpoint, report.component)
        case let .rateLimit(hit): (hit.provider, hit.model, nil, nil)
        case let .failover(failover): (failover.from, failover.model, nil, nil)
        case .metric: (nil, nil, nil, nil)
        case let .providerUsage(usage): (usage.provider, usage.model, nil, nil)
        }
    }
}
