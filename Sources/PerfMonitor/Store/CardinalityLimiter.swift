/// Keeps each label's distinct values under its limit: a value past the limit becomes `__other__`
/// and the fold is counted by dimension, so nothing disappears silently. Values free their place
/// when their last series is pruned (the store rebuilds the known values then).
struct CardinalityLimiter: Sendable {
    static let other = "__other__"

    /// Label dimensions, as reported in folded counts.
    enum Dimension: String, Sendable, CaseIterable {
        case provider, model, endpoint, method, component, operation, metric, cacheScope = "cache_scope"
    }

    var limits: CardinalityLimits
    /// Distinct values per dimension; nested dimensions are keyed by their parent ("openai" → models).
    private var known: [Dimension: [String: Set<String>]] = [:]
    private(set) var folded: [Dimension: Double] = [:]

    init(limits: CardinalityLimits) {
        self.limits = limits
    }

    /// `value` if it is known or there is room for it, else `__other__` (counting the fold).
    mutating func admit(_ value: String, _ dimension: Dimension, parent: String = "") -> String {
        if value == Self.other { return value }
        if known[dimension]?[parent]?.contains(value) == true { return value }
        let count = known[dimension]?[parent]?.count ?? 0
        guard count < limit(dimension) else {
            folded[dimension, default: 0] += 1
            return Self.other
        }
        known[dimension, default: [:]][parent, default: []].insert(value)
        return value
    }

    /// Carries the fold counts over (they only grow) when the known values are rebuilt.
    mutating func keepFolded(from other: CardinalityLimiter) {
        folded = other.folded
    }

    /// Adds fold counts carried over from a snapshot.
    mutating func addFolded(_ counts: [Dimension: Double]) {
        for (dimension, count) in counts { folded[dimension, default: 0] += count }
    }

    private func limit(_ dimension: Dimension) -> Int {
        switch dimension {
        case .provider: limits.providers
        case .model: limits.modelsPerProvider
        case .endpoint: limits.endpoints
        case .method: limits.methodsPerEndpoint
        case .component: limits.components
        case .operation: limits.operationsPerComponent
        case .metric: limits.customMetrics
        case .cacheScope: limits.cacheScopes
        }
    }
}
