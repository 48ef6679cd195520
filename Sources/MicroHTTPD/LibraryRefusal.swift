/// libmicrohttpd 0.9.75 answers some malformed requests itself, before the access handler is
/// called (a `Content-Length` that is not a number, a target or head too large for the
/// connection's pool, an unknown HTTP version, broken chunk framing, a request line that is not
/// one): with its own HTML page, and without telling the application. The one trace is its error
/// log, which names the status of each such answer; the wrapper counts them from it.
enum LibraryRefusal {
    /// Each of libmicrohttpd's own refusals logs this, followed by the status it answered.
    private static let marker = "Error processing request (HTTP response code is "

    /// The status libmicrohttpd answered, when `line` reports one of its own refusals.
    static func status(inLogLine line: String) -> Int? {
        guard let range = line.firstRange(of: marker) else { return nil }
        return Int(line[range.upperBound...].prefix(3))
    }

    /// Lines about one client's malformed request (the refusal and what led to it): logged at
    /// debug level, since any client can make as many of them as it sends requests; the count
    /// on `/metrics` is what shows them.
    static func isAboutAClientRequest(_ line: String) -> Bool {
        line.contains(marker) || line.hasPrefix("Failed to parse `Content-Length' header")
    }
}
