import ArgumentParser
import PerfmondConfig
import PerfmondTools

/// Runs the command line, mapping failures to the exit statuses the contract gives:
/// 2 for a bad configuration or a bad flag (swift-argument-parser's own 64 included), 1 otherwise.
@main
enum Entry {
    static func main() async {
        do {
            var command = try Perfmond.parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as ConfigurationError {
            fail("perfmond: \(error)", status: 2)
        } catch {
            if Perfmond.exitCode(for: error) == .validationFailure {
                fail(Perfmond.fullMessage(for: error), status: 2)
            }
            Perfmond.exit(withError: error)
        }
    }

    static func fail(_ message: String, status: Int32) -> Never {
        exitWithMessage(message, status: status)
    }
}

/// The `perfmond` command and its subcommands; `serve` is the default.
struct Perfmond: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perfmond",
        abstract: "A performance-metrics daemon for LLM gateways and services.",
        discussion: """
            Services POST events to /events; Prometheus scrapes /metrics; operators query /performance/.
            Example: perfmond --config /etc/perfmond/perfmond.yaml
            """,
        subcommands: [Serve.self, Top.self, Tail.self, Send.self, Export.self, Compare.self, Loadgen.self, CheckConfig.self, Health.self],
        defaultSubcommand: Serve.self
    )
}
