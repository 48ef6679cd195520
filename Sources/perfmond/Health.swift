import ArgumentParser
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `perfmond health`: asks a running daemon's `/health` (or `/ready`) and exits 0 when it answers
/// 200 — the Docker `HEALTHCHECK` and a scriptable probe, with no curl needed in the image.
struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that a running perfmond answers (exit 0) or not (exit 1).",
        discussion: """
            Example: perfmond health --url http://127.0.0.1:9470 --ready
            """
    )

    @Option(help: "The daemon's base URL.")
    var url = "http://127.0.0.1:9470"

    @Flag(help: "Ask /ready (snapshot restored, not stopping) instead of /health.")
    var ready = false

    @Option(help: "Seconds to wait for the answer.")
    var timeout: Double = 3

    func run() async throws {
        guard let base = URL(string: url), base.scheme == "http" || base.scheme == "https" else {
            throw ValidationError("--url must be an http:// or https:// URL, not '\(url)'")
        }
        var request = URLRequest(url: base.appendingPathComponent(ready ? "ready" : "health"))
        request.timeoutInterval = timeout
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            print("\(status) \(String(decoding: data, as: UTF8.self))")
            if status != 200 { throw ExitCode.failure }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            print("perfmond health: \(request.url?.absoluteString ?? url): \(error.localizedDescription)")
            throw ExitCode.failure
        }
    }
}
