/// The checks of a request's head that libmicrohttpd 0.9.75 leaves undone. Framing, as RFC 9112
/// asks of a server: where a request's body ends must be unambiguous, or the bytes after it could
/// run as a second request (smuggling). And a bound on query parameters, which libmicrohttpd
/// keeps in the connection's memory pool: past about 550 it runs out and answers nothing (see
/// `queryParameterCount`). Run on every request once its headers are in, before anything else; a
/// problem is answered `400`/`431`/`501` and the connection closed.
enum RequestFraming {
    /// Why a request was refused; `reason` on `/metrics`.
    enum Problem: String, CaseIterable, Sendable {
        case contentLengthWithTransferEncoding = "content_length_with_transfer_encoding"
        case conflictingContentLengths = "conflicting_content_lengths"
        case unsupportedTransferEncoding = "unsupported_transfer_encoding"
        case missingHost = "missing_host"
        case tooManyQueryParameters = "too_many_query_parameters"

        var response: Response {
            var response: Response
            switch self {
            case .contentLengthWithTransferEncoding:
                response = .error(400, "both Content-Length and Transfer-Encoding were sent; send one of them (RFC 9112 §6.3)")
            case .conflictingContentLengths:
                response = .error(400, "several different Content-Length values were sent; send one (RFC 9112 §6.3)")
            case .unsupportedTransferEncoding:
                response = .error(501, "Transfer-Encoding other than chunked is not supported; send chunked or a Content-Length")
            case .missingHost:
                response = .error(400, "an HTTP/1.1 request needs a Host header (RFC 9112 §3.2)")
            case .tooManyQueryParameters:
                response = .error(431, "more than \(RequestFraming.maxQueryParameters) query parameters; no perfmond query takes more than a few")
            }
            response.headers.add(name: "Connection", value: "close")
            return response
        }
    }

    /// Far above what any route reads, far below where libmicrohttpd's 32 KiB pool runs out.
    static let maxQueryParameters = 100

    static func problem(version: String, headers: HTTPHeaders, queryParameters: Int) -> Problem? {
        let lengths = headers.values("Content-Length")
        let encodings = headers.values("Transfer-Encoding")
        if !lengths.isEmpty, !encodings.isEmpty { return .contentLengthWithTransferEncoding }
        // Repeated with one value (or as a list of one value) is allowed; different values are not.
        let distinct = Set(lengths.flatMap { $0.split(separator: ",").map(trimmed) })
        if distinct.count > 1 { return .conflictingContentLengths }
        let codings = encodings.flatMap { $0.split(separator: ",").map { trimmed($0).lowercased() } }
        if !codings.isEmpty, codings != ["chunked"] { return .unsupportedTransferEncoding }
        if version == "HTTP/1.1", headers["Host"] == nil { return .missingHost }
        if queryParameters > maxQueryParameters { return .tooManyQueryParameters }
        return nil
    }

    /// The parameters in a request target's query, counted as libmicrohttpd splits them (at `&`),
    /// from the raw target it hands the URI log before parsing it.
    static func queryParameterCount(_ target: UnsafePointer<CChar>) -> Int {
        var cursor = target
        while cursor.pointee != 0, cursor.pointee != CChar(UInt8(ascii: "?")) { cursor += 1 }
        guard cursor.pointee != 0 else { return 0 }
        var count = 1
        cursor += 1
        while cursor.pointee != 0 {
            if cursor.pointee == CChar(UInt8(ascii: "&")) { count += 1 }
            cursor += 1
        }
        return count
    }
}

/// A list element of a header value without the spaces around it.
private func trimmed(_ element: Substring) -> String {
    var text = element
    while text.first == " " || text.first == "\t" { text.removeFirst() }
    while text.last == " " || text.last == "\t" { text.removeLast() }
    return String(text)
}
