import CCurl
import Foundation

/// POSTs remote write bodies with libcurl (CCurl), the one HTTP client perfmond has that takes a
/// CA file of its own per request (URLSession on Linux takes only the system's). Blocking: it runs
/// on the remote writer's own thread, never on the cooperative pool. Keeps its connection alive.
final class CurlPoster {
    /// What one attempt came to.
    enum Answer: Equatable {
        /// An HTTP answer: its status, a Retry-After in seconds, the start of its body.
        case status(Int, retryAfter: Int?, body: String)
        /// No answer: a connection, TLS or timeout error.
        case failed(String)
    }

    private let handle: OpaquePointer

    init?() {
        guard let handle = ccurl_new() else { return nil }
        self.handle = handle
    }

    deinit { ccurl_free(handle) }

    func post(_ body: [UInt8], to url: String, headers: [String], user: String?, password: String?, caFile: String?,
              verifyTLS: Bool, timeoutMs: Int) -> Answer {
        var result = ccurl_result()
        // C copies of the strings, for the length of the call.
        var copies: [UnsafeMutablePointer<CChar>] = []
        defer { copies.forEach { free($0) } }
        func cString(_ text: String?) -> UnsafePointer<CChar>? {
            guard let text, let copy = strdup(text) else { return nil }
            copies.append(copy)
            return UnsafePointer(copy)
        }
        let headerLines = headers.map(cString)
        let code: Int32 = headerLines.withUnsafeBufferPointer { headerLines in
            body.withUnsafeBytes { bytes in
                var request = ccurl_request(url: cString(url), body: bytes.baseAddress, length: bytes.count,
                                            headers: headerLines.baseAddress, header_count: Int32(headerLines.count),
                                            user: cString(user), password: cString(password), ca_file: cString(caFile),
                                            verify_tls: verifyTLS ? 1 : 0, timeout_ms: timeoutMs)
                return ccurl_post(handle, &request, &result)
            }
        }
        guard code == 0 else {
            return .failed(withUnsafeBytes(of: &result.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
        }
        let text = withUnsafeBytes(of: &result.body) { String(decoding: $0.prefix(result.body_length), as: UTF8.self) }
        return .status(result.status, retryAfter: result.retry_after_seconds >= 0 ? result.retry_after_seconds : nil, body: text)
    }
}
