/// A route that reads its body as it arrives, up to a limit of its own, instead of having the
/// server hold it whole: for bodies larger than the server's `maxBodyBytes` (LiteLLM batches of
/// tens of megabytes). `start` is called once the headers are in and the request admitted; the
/// consumer it returns gets every piece of the body in order, on the connection's thread, then
/// `finish()` once the body is complete.
public struct BodyStream: Sendable {
    public let maxBodyBytes: Int
    public let start: @Sendable (Request) -> any BodyConsumer

    public init(maxBodyBytes: Int, start: @escaping @Sendable (Request) -> any BodyConsumer) {
        self.maxBodyBytes = maxBodyBytes
        self.start = start
    }
}

/// Reads one request's body piece by piece (see `BodyStream`). A consumer that finds the body
/// bad early keeps its answer and ignores the rest: the server still reads the body to its end,
/// so the connection stays usable.
public protocol BodyConsumer: AnyObject {
    func consume(_ bytes: UnsafeRawBufferPointer)
    /// The body is complete: the answer, now or after async work (the connection waits for it).
    func finish() -> BodyReply
}

/// A streaming route's answer: ready at once, or after async work.
public enum BodyReply: Sendable {
    case now(Response)
    case later(@Sendable () async -> Response)
}
