/// How bad a finding is, for alerts and recommendations alike (api.md §2): least to most severe.
public enum Severity: String, Sendable, CaseIterable, Comparable {
    case info, warning, error, critical

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }

    private var rank: Int {
        switch self {
        case .info: 0
        case .warning: 1
        case .error: 2
        case .critical: 3
        }
    }
}
