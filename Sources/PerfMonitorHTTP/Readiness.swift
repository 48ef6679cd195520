import Synchronization

/// Whether the daemon should receive traffic: `/ready` answers `200` only while serving.
public final class Readiness: Sendable {
    public enum Phase: Int, Sendable {
        case starting, serving, stopping
    }

    private let phase = Atomic<Int>(Phase.starting.rawValue)

    public init() {}

    public var current: Phase { Phase(rawValue: phase.load(ordering: .acquiring)) ?? .starting }

    public func enter(_ next: Phase) {
        phase.store(next.rawValue, ordering: .releasing)
    }
}
