import ArgumentParser
import Foundation
import PerfJSON
import PerfMonitor

#if canImport(Glibc)
import Glibc
#endif

/// `perfmond top`: a terminal view of the providers, components, caches, the top three
/// recommendations (seed 000's CLI dashboard) and the alerts, redrawn in place; `q` quits. When
/// the output is not a terminal it prints plain snapshots instead (one by default).
public struct Top: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        abstract: "Watch providers and models, components, caches, the top recommendations and alerts live.",
        discussion: """
            Press q to quit. Piped or redirected, it prints --iterations plain snapshots and exits.
            Example: perfmond top --url http://127.0.0.1:9470 --window 5m
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @Option(help: "Seconds between refreshes.")
    var interval: Double = 2

    @Option(help: "The window the figures cover (30s, 1m, 5m, 1h).")
    var window = "1m"

    @Option(help: "Snapshots to print before exiting (default: until q on a terminal, 1 otherwise).")
    var iterations: Int?

    public func validate() throws {
        guard interval >= 0.2, interval <= 3600 else { throw ValidationError("--interval must be from 0.2 to 3600 seconds") }
        guard TimeSpan.parse(window) != nil else { throw ValidationError("--window must be a duration like 30s, 1m or 1h") }
        if let iterations, iterations < 1 { throw ValidationError("--iterations must be at least 1") }
    }

    public func run() async throws {
        let client = try daemon.client(timeout: 5)
        let interactive = isatty(STDOUT_FILENO) == 1 && isatty(STDIN_FILENO) == 1
        let limit = iterations ?? (interactive ? Int.max : 1)
        let terminal = interactive ? RawTerminal() : nil
        defer { terminal?.restore() }
        var drawn = 0
        while drawn < limit {
            let screen = await Self.screen(client: client, window: window, refresh: drawn + 1)
            if interactive {
                writeOut("\u{1B}[H\u{1B}[2J" + screen.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n\r\nq: quit")
            } else {
                print(screen + "\n")
            }
            drawn += 1
            guard drawn < limit else { break }
            // Wait for the next refresh, reading keys meanwhile.
            let steps = max(1, Int(interval * 10))
            for _ in 0..<steps {
                if terminal?.readKey() == UInt8(ascii: "q") { return }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// One screen: header, the providers × models table, components, caches, the top three
    /// recommendations, the alerts.
    static func screen(client: DaemonClient, window: String, refresh: Int) async -> String {
        let seconds = TimeSpan.parse(window)?.seconds ?? 60
        let now = Date().formatted(.iso8601.time(includingFractionalSeconds: false))
        let providers: JSONValue, alerts: JSONValue, realTime: JSONValue, components: JSONValue, caches: JSONValue, advice: JSONValue
        do {
            providers = try await client.json("/performance/providers?window=" + window)
            components = try await client.json("/performance/components?window=" + window)
            caches = try await client.json("/performance/caches?window=" + window)
            advice = try await client.json("/performance/recommendations?window=" + window)
            alerts = try await client.json("/performance/alerts")
            realTime = try await client.json("/performance/real-time")
        } catch {
            return "perfmond top — \(client.base.absoluteString) — \(now) — refresh \(refresh)\n\ndaemon unreachable, retrying: \(error)"
        }
        var rows: [[String]] = [["PROVIDER/MODEL", "RPS", "P50 MS", "P95 MS", "P99 MS", "ERROR %", "COST $"]]
        for (provider, stats) in providers.at("providers")?.members ?? [] {
            for (model, figures) in stats.at("model_stats")?.members ?? [] {
                let calls = figures.at("total_operations")?.numberValue ?? 0
                let success = figures.at("success_rate_percent")?.numberValue ?? 100
                rows.append([
                    "\(provider)/\(model)", Table.number(calls / seconds),
                    Table.number(figures.at("p50_duration_ms")?.numberValue ?? 0),
                    Table.number(figures.at("p95_duration_ms")?.numberValue ?? 0),
                    Table.number(figures.at("p99_duration_ms")?.numberValue ?? 0),
                    Table.number(calls > 0 ? 100 - success : 0),
                    Table.number(figures.at("cost_usd")?.numberValue ?? 0),
                ])
            }
        }
        var componentRows: [[String]] = [["COMPONENT/OPERATION", "CALLS/S", "P50 MS", "P95 MS", "ERROR %", "IN FLIGHT"]]
        for (component, stats) in components.at("components")?.members ?? [] {
            for (operation, figures) in stats.at("operations")?.members ?? [] {
                componentRows.append([
                    "\(component)/\(operation)", Table.number((figures.at("total_calls")?.numberValue ?? 0) / seconds),
                    Table.number(figures.at("p50_duration_ms")?.numberValue ?? 0),
                    Table.number(figures.at("p95_duration_ms")?.numberValue ?? 0),
                    Table.number(figures.at("error_rate")?.numberValue ?? 0),
                    Table.number(stats.at("in_flight")?.numberValue ?? 0),
                ])
            }
        }
        var cacheRows: [[String]] = [["CACHE", "HITS", "MISSES", "HIT %", "P95 ACCESS MS"]]
        for (scope, figures) in caches.at("caches")?.members ?? [] {
            cacheRows.append([scope, Table.number(figures.at("hits")?.numberValue ?? 0), Table.number(figures.at("misses")?.numberValue ?? 0),
                              Table.number(figures.at("hit_ratio_percent")?.numberValue ?? 0),
                              Table.number(figures.at("p95_access_time_ms")?.numberValue ?? 0)])
        }
        var lines = [
            "perfmond top — \(client.base.absoluteString) — \(now) — refresh \(refresh) — window \(window)",
            "health \(alerts.at("system_health")?.stringValue ?? "?") · \(Table.number(realTime.at("throughput_rps")?.numberValue ?? 0)) events/s · "
                + "in flight \(Table.number(realTime.at("in_flight")?.numberValue ?? 0)) · "
                + "rss \(Table.number(realTime.at("memory_metrics", "total_process_mb")?.numberValue ?? 0)) MB",
            "",
            rows.count > 1 ? Table.format(rows) : "no provider calls in the last \(window)",
        ]
        if componentRows.count > 1 { lines += ["", Table.format(componentRows)] }
        if cacheRows.count > 1 { lines += ["", Table.format(cacheRows)] }
        // The answer lists the most severe recommendations first.
        let top = (advice.at("recommendations")?.arrayValue ?? []).prefix(3).map { recommendation in
            "  [\(recommendation.at("severity")?.stringValue ?? "?")] \(recommendation.at("message")?.stringValue ?? "")"
        }
        lines += ["", top.isEmpty ? "no recommendations" : "TOP RECOMMENDATIONS"] + top
        let firing = alerts.at("alerts")?.arrayValue?.compactMap(\.stringValue) ?? []
        lines += ["", firing.isEmpty ? "no alerts firing" : "ALERTS"]
        lines += firing.prefix(10).map { "  " + $0 }
        return lines.joined(separator: "\n")
    }
}

/// The terminal in raw mode (no echo, no line buffering) so that `q` is read at once; restored
/// on exit.
final class RawTerminal {
    private var saved = termios()
    private var active = false

    init() {
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { return }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        active = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0
        writeOut("\u{1B}[?25l")  // hide the cursor
    }

    /// A key pressed since the last call, if any.
    func readKey() -> UInt8? {
        var byte: UInt8 = 0
        return read(STDIN_FILENO, &byte, 1) == 1 ? byte : nil
    }

    func restore() {
        guard active else { return }
        var original = saved
        tcsetattr(STDIN_FILENO, TCSANOW, &original)
        writeOut("\u{1B}[?25h\n")
        active = false
    }
}

/// Straight to the terminal, unbuffered: a screen without a final newline must still show.
func writeOut(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}
