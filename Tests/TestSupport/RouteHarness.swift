import Foundation
import MicroHTTPD

/// Handlers tested without a socket, as hummingbird's `.router` tests do: a request in, the
/// response out, through the router's own admission and routing. What only the server does (the
/// body limit, HEAD without a body, keep-alive, chunked uploads) is tested live.
extension Router {
    public func reply(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = []) async -> HTTPReply {
        let response = await respond(to: Request(method: method, target: target, headers: headers, body: body))
        return HTTPReply(status: response.status, headers: response.headers.fields, body: response.body)
    }
}

extension Request {
    /// A request as the server decodes it from its target: the path and the query, percent-decoded,
    /// `+` in the query read as a space.
    public init(method: String, target: String, headers: [(String, String)] = [], body: [UInt8] = []) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let decode = { (text: Substring) in text.replacing("+", with: " ").removingPercentEncoding ?? String(text) }
        let query = parts.count > 1 ? parts[1].split(separator: "&").map { pair -> (name: String, value: String) in
            let sides = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (decode(sides[0]), sides.count > 1 ? decode(sides[1]) : "")
        } : []
        self.init(method: method, path: String(parts[0]).removingPercentEncoding ?? String(parts[0]), query: query,
                  headers: HTTPHeaders(headers.map { (name: $0.0, value: $0.1) }), body: body)
    }
}
