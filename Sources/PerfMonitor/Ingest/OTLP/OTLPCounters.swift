import Synchronization

/// How the OTLP routes used what they received, since start, for `/metrics` and
/// `/performance/memory`: points and spans by outcome, labels dropped (refusals are counted with
/// the other ways in, in the `IngestCounters`).
public final class OTLPCounters: Sendable {
    public struct Figures: Sendable, Equatable {
        public var points = OTLPTally<OTLPPointOutcome>()
        public var spans = OTLPTally<OTLPSpanOutcome>()
        public var labelsDropped = 0
    }

    private let figures = Mutex(Figures())

    public init() {}

    public var current: Figures { figures.withLock { $0 } }

    public func add(_ mapped: OTLPMapped) {
        figures.withLock { figures in
            figures.points.add(mapped.points)
            figures.spans.add(mapped.spans)
            figures.labelsDropped += mapped.labelsDropped
        }
    }
}

/// What `/metrics` and `/performance/memory` show of the OTLP routes: their counters and the
/// cumulative stream table's size.
public struct OTLPFigures: Sendable {
    public let counters: OTLPCounters
    public let streams: CumulativeStreams

    public init(counters: OTLPCounters = OTLPCounters(), streams: CumulativeStreams = CumulativeStreams(maxStreams: OTLPOptions().maxStreams, startedAt: 0)) {
        self.counters = counters
        self.streams = streams
    }
}
