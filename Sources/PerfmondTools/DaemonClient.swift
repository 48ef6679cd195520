import ArgumentParser
import Foundation
import PerfJSON

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where a command-line tool finds the daemon: `--url` and a bearer token, shared by every tool.
struct DaemonOptions: ParsableArguments {
    @Option(help: "The daemon's base URL.")
    var url = "http://127.0.0.1:9470"

    @Option(help: "Bearer token (default $PERFMOND_TOKEN); --token-file reads it from a file.")
    var token: String?

    @Option(help: "A file holding the bearer token.")
    var tokenFile: String?

    func client(timeout: Double = 10) throws -> DaemonClient {
        guard let base = URL(string: url), base.scheme == "http" || base.scheme == "https", base.host != nil else {
            throw ValidationError("--url must be an http:// or https:// URL, not '\(url)'")
        }
        var bearer = token ?? ProcessInfo.processInfo.environment["PERFMOND_TOKEN"]
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw ValidationError("cannot read --token-file \(tokenFile)")
            }
            bearer = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return DaemonClient(base: base, token: bearer, timeout: timeout)
    }
}

/// A small HTTP client for perfmond's API (URLSession, already linked for the alert webhooks).
struct DaemonClient: Sendable {
    let base: URL
    let token: String?
    let timeout: Double

    struct Reply: Sendable {
        let status: Int
        let body: Data
        let headers: [String: String]

        var text: String { String(decoding: body, as: UTF8.self) }

        func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name.lowercased() }?.value
        }
    }

    /// Why the daemon could not be asked (connection refused, timeout…).
    struct Unreachable: Error, CustomStringConvertible {
        let description: String
    }

    func get(_ pathAndQuery: String, accept: String = "application/json") async throws -> Reply {
        try await send("GET", pathAndQuery, body: nil, contentType: nil, accept: accept)
    }

    func post(_ path: String, body: Data, contentType: String) async throws -> Reply {
        try await send("POST", path, body: body, contentType: contentType, accept: "application/json")
    }

    private func send(_ method: String, _ pathAndQuery: String, body: Data?, contentType: String?, accept: String) async throws -> Reply {
        guard let url = URL(string: pathAndQuery, relativeTo: base) else { throw Unreachable(description: "bad path \(pathAndQuery)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = timeout
        request.setValue(accept, forHTTPHeaderField: "Accept")
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        if let token { request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
        request.httpBody = body
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            let http = response as? HTTPURLResponse
            var headers: [String: String] = [:]
            for (name, value) in http?.allHeaderFields ?? [:] { headers["\(name)"] = "\(value)" }
            return Reply(status: http?.statusCode ?? 0, body: data, headers: headers)
        } catch {
            throw Unreachable(description: "\(url.absoluteString): \(error.localizedDescription)")
        }
    }

    /// The answer as JSON, or a clear failure naming the status and the daemon's error.
    func json(_ pathAndQuery: String) async throws -> JSONValue {
        let reply = try await get(pathAndQuery)
        guard reply.status == 200 else { throw Unreachable(description: "\(pathAndQuery): \(reply.status) \(reply.text)") }
        do {
            return try JSONParser.parse(Array(reply.body))
        } catch {
            throw Unreachable(description: "\(pathAndQuery): the answer is not JSON: \(error.message)")
        }
    }
}
