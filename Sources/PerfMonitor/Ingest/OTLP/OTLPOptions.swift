import Synchronization

/// How OTLP's metrics and spans feed the store (api.md §6.2): which signal feeds the provider
/// stats, which spans are read, how many cumulative streams are remembered.
public struct OTLPOptions: Sendable, Equatable {
    /// Which signal feeds provider × model stats for a service that sends both (OpenLLMetry
    /// sends GenAI spans *and* GenAI metrics for the same calls: counting both would count twice).
    public enum GenAISource: String, Sendable, CaseIterable {
        /// Spans, for a service that has sent GenAI spans within the retention; else metrics.
        case auto
        case spans
        case metrics
    }

    /// The kinds of span that become events (`otlp_spans`).
    public struct SpanSelection: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        /// Spans with GenAI attributes → provider calls.
        public static let genai = SpanSelection(rawValue: 1)
        /// SERVER spans with `http.route` → endpoint requests.
        public static let server = SpanSelection(rawValue: 2)
        /// Every other span → component (`service.name`) × operation (span name).
        public static let other = SpanSelection(rawValue: 4)
        public static let all: SpanSelection = [.genai, .server, .other]

        /// `genai,server`, `all`, `none`: nil for anything else.
        public init?(text: String) {
            var selection: SpanSelection = []
            for word in text.split(separator: ",").map({ String($0).trimmingSpaces }) where !word.isEmpty {
                switch word {
                case "genai": selection.insert(.genai)
                case "server": selection.insert(.server)
                case "all": selection.formUnion(.all)
                case "none": break
                default: return nil
                }
            }
            self = selection
        }

        public var text: String {
            if self == .all { return "all" }
            let words = [(SpanSelection.genai, "genai"), (.server, "server")].filter { contains($0.0) }.map(\.1)
            return words.isEmpty ? "none" : words.joined(separator: ",")
        }
    }

    public var genAISource = GenAISource.auto
    public var spans: SpanSelection = [.genai, .server]
    /// Cumulative streams remembered at most (`otlp_max_streams`).
    public var maxStreams = 100_000

    public init() {}
}

/// The services that have sent GenAI spans lately, and when: with `otlp_genai_source: auto`,
/// their GenAI metrics become custom metrics, as their spans feed the provider stats. Bounded
/// (services are few; past 10,000 the oldest half is forgotten).
public final class GenAISpanServices: Sendable {
    static let maxServices = 10_000
    private let seen = Mutex([String: Double]())

    public init() {}

    func saw(_ service: String, at now: Double) {
        seen.withLock { seen in
            if seen[service] == nil, seen.count >= Self.maxServices { seen.removeLeastRecentlySeen(seen.count / 2) { $0 } }
            seen[service] = now
        }
    }

    /// Whether `service` sent a GenAI span after `since`.
    func hasSpans(_ service: String, since: Double) -> Bool {
        seen.withLock { ($0[service] ?? -.infinity) >= since }
    }
}
