import Foundation
import ArgumentParser
import PerfmondConfig

/// `perfmond check-config`: loads a configuration file as `serve` would and says whether the
/// daemon would start with it — before a restart or a `systemctl reload`.
public struct CheckConfig: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a configuration file: exit 0 and a summary, or exit 2 and the problem.",
        discussion: """
            The file is read as `perfmond serve --config FILE` reads it, with the PERFMOND_ environment
            variables applied on top (so token files and TLS files are checked too).
            Example: perfmond check-config /etc/perfmond/perfmond.yaml && systemctl reload perfmond
            """
    )

    @Argument(help: "The configuration file.")
    var file: String

    public func run() throws {
        let loaded = try ConfigurationLoader.load(configFlag: file, environment: ProcessInfo.processInfo.environment)
        let settings = loaded.configuration
        for warning in loaded.warnings { print("warning: \(warning)") }
        print("\(file): OK")
        print("  listen \(settings.host):\(settings.port)\(settings.tls.isEnabled ? " (TLS)" : ""), retention \(settings.store.retention), "
            + "\(settings.alertThresholds.count) alert thresholds")
        let tokens = [("ingest", settings.access.ingestToken), ("read", settings.access.readToken), ("admin", settings.access.adminToken)]
            .filter { !$0.1.isEmpty }.map(\.0)
        print("  tokens: \(tokens.isEmpty ? "none (every path open)" : tokens.joined(separator: ", ")); state_file: \(settings.stateFile.isEmpty ? "none" : settings.stateFile)")
    }
}
