/// The items of a batch that were refused: the first `maxListed` with their position and reason
/// (what an answer lists), and how many in all. Refusing 500,000 bad lines must cost a counter,
/// not 500,000 messages: past the listed ones, a reason is not even worded.
public struct RejectedItems: Sendable, RandomAccessCollection {
    public static let maxListed = 1000

    private var listed: [(index: Int, message: String)] = []
    /// Every refused item, the listed ones and the rest.
    public private(set) var total = 0

    public init() {}

    mutating func append(_ index: Int, _ message: @autoclosure () -> String) {
        total += 1
        if listed.count < Self.maxListed { listed.append((index, message())) }
    }

    /// Refused items not listed.
    public var omitted: Int { total - listed.count }

    public var startIndex: Int { listed.startIndex }
    public var endIndex: Int { listed.endIndex }
    public subscript(position: Int) -> (index: Int, message: String) { listed[position] }
}
