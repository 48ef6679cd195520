import Synchronization

/// Whether the daemon should receive traffic: `/ready` answers `200` only while serving, that is
/// from the snapshot's restore until shutdown begins.
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

    /// Starting → serving (once the snapshot is restored); a stop already under way stays.
    public func becomeReady() {
        _ = phase.compareExchange(expected: Phase.starting.rawValue, desired: Phase.serving.rawValue, ordering: .acquiringAndReleasing)
    }
}
