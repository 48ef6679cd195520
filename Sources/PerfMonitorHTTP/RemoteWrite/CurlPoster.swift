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
        let cHeaders = headers.map { strdup($0) }
        defer { cHeaders.forEach { free($0) } }
        let code: Int32 = url.withCString { url in
            withOptionalCString(user) { user in
                withOptionalCString(password) { password in
                    withOptionalCString(caFile) { caFile in
                        cHeaders.map { UnsafePointer($0) }.withUnsafeBufferPointer { headerPointers in
                            body.withUnsafeBytes { bytes in
                                var request = ccurl_request(url: url, body: bytes.baseAddress, length: bytes.count,
                                                            headers: headerPointers.baseAddress, header_count: Int32(headers.count),
                                                            user: user, password: password, ca_file: caFile,
                                                            verify_tls: verifyTLS ? 1 : 0, timeout_ms: timeoutMs)
                                return ccurl_post(handle, &request, &result)
                            }
                        }
                    }
                }
            }
        }
        guard code == 0 else {
            return .failed(withUnsafeBytes(of: &result.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
        }
        let text = withUnsafeBytes(of: &result.body) { String(decoding: $0.prefix(result.body_length), as: UTF8.self) }
        return .status(result.status, retryAfter: result.retry_after_seconds >= 0 ? result.retry_after_seconds : nil, body: text)
    }
}

private func withOptionalCString<T>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> T) -> T {
    guard let text else { return body(nil) }
    return text.withCString { body($0) }
}
