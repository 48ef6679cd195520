import ArgumentParser


/// `perfmond health`: asks a running daemon's `/health` (or `/ready`) and exits 0 when it answers
/// 200 — the Docker `HEALTHCHECK` and a scriptable probe, with no curl needed in the image.
public struct Health: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        abstract: "Check that a running perfmond answers (exit 0) or not (exit 1).",
        discussion: """
            Example: perfmond health --url http://127.0.0.1:9470 --ready
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @Flag(help: "Ask /ready (snapshot restored, not stopping) instead of /health.")
    var ready = false

    @Option(help: "Seconds to wait for the answer.")
    var timeout: Double = 3

    public func run() async throws {
        let client = try daemon.client(timeout: timeout)
        do {
            let reply = try await client.get(ready ? "/ready" : "/health")
            print("\(reply.status) \(reply.text)")
            if reply.status != 200 { throw ExitCode.failure }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            print("perfmond health: \(error)")
            throw ExitCode.failure
        }
    }
}
