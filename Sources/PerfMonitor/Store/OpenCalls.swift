/// Starts waiting for their end: requests (`request_start`) until their `request_end`, provider
/// calls (`provider_start`) until their `provider_request`. Bounded together by `limit`; a start
/// not ended within the request timeout is abandoned by the maintenance tick.
struct OpenCalls: Sendable {
    /// A start waiting for its end.
    struct Call: Sendable {
        let timestamp: Double
        let receivedAt: Double
        let endpoint: String?
        let method: String?
        let provider: String?
        let model: String?
        var component: String? = nil
        var operation: String? = nil
    }

    private(set) var requests: [String: Call] = [:]
    private(set) var providerCalls: [String: Call] = [:]
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    var count: Int { requests.count + providerCalls.count }

    /// Remembers a start (a repeated id replaces the earlier one); false when `limit` starts are
    /// already waiting and this one is new.
    mutating func open(_ id: String, _ call: Call, providerCall: Bool) -> Bool {
        let known = providerCall ? providerCalls[id] != nil : requests[id] != nil
        if !known, count >= limit { return false }
        if providerCall { providerCalls[id] = call } else { requests[id] = call }
        return true
    }

    /// The request's start, no longer open.
    mutating func endRequest(_ id: String) -> Call? {
        requests.removeValue(forKey: id)
    }

    mutating func endProviderCall(_ id: String) {
        providerCalls[id] = nil
    }

    /// Forgets the starts received before `time`; how many of each kind.
    mutating func abandon(receivedBefore time: Double) -> (requests: Int, providerCalls: Int) {
        let before = (requests.count, providerCalls.count)
        requests = requests.filter { $0.value.receivedAt >= time }
        providerCalls = providerCalls.filter { $0.value.receivedAt >= time }
        return (before.0 - requests.count, before.1 - providerCalls.count)
    }

    /// Adds restored starts; a start already open (received since the restart) wins.
    mutating func merge(requests restored: [String: Call], providerCalls restoredCalls: [String: Call]) {
        requests.merge(restored) { current, _ in current }
        providerCalls.merge(restoredCalls) { current, _ in current }
    }

    /// Open starts in total and per provider.
    var inFlight: InFlight {
        var counts = InFlight(total: count)
        for call in requests.values {
            if let provider = call.provider { counts.byProvider[provider, default: 0] += 1 }
            if let endpoint = call.endpoint { counts.byEndpoint[endpoint, default: 0] += 1 }
            if let component = call.component { counts.byComponent[component, default: 0] += 1 }
        }
        for call in providerCalls.values { if let provider = call.provider { counts.byProvider[provider, default: 0] += 1 } }
        return counts
    }
}

/// Requests and provider calls started and not yet ended (seed 003's `tasks_active`): in all, by
/// provider (requests and provider calls naming one), by endpoint and by component (requests
/// naming one).
public struct InFlight: Sendable, Equatable {
    public var total: Int
    public var byProvider: [String: Int] = [:]
    public var byEndpoint: [String: Int] = [:]
    public var byComponent: [String: Int] = [:]

    public init(total: Int = 0) { self.total = total }
}
