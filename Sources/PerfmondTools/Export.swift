import ArgumentParser
import Foundation
import PerfJSON

/// `perfmond export`: the daemon's per-series export on stdout, for a spreadsheet or a file.
public struct Export: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        abstract: "Print every series over a window as JSON, CSV or Prometheus text.",
        discussion: """
            Example: perfmond export --format csv --since 2026-11-23T09:00:00Z > morning.csv
                     perfmond export --format json --window 1h | jq '.series | length'
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json, csv, prometheus
    }

    @OptionGroup var daemon: DaemonOptions

    @Option(help: "json, csv or prometheus.")
    var format: Format = .json

    @Option(help: "Start of the range: Unix seconds or RFC 3339 (at most the retention ago).")
    var since: String?

    @Option(help: "A window instead of --since (5m, 1h, 24h).")
    var window: String?

    @Option(help: "Only the operations of this component.")
    var component: String?

    public func validate() throws {
        if since != nil, window != nil { throw ValidationError("give --since or --window, not both") }
    }

    public func run() async throws {
        var query = [URLQueryItem(name: "format", value: format.rawValue)]
        if let since { query.append(URLQueryItem(name: "since", value: since)) }
        if let window { query.append(URLQueryItem(name: "window", value: window)) }
        if let component { query.append(URLQueryItem(name: "component", value: component)) }
        let reply: DaemonClient.Reply
        do {
            reply = try await daemon.client(timeout: 60).get("/performance/export?" + Self.encode(query), accept: "*/*")
        } catch {
            failTool("\(error)")
        }
        guard reply.status == 200 else { failTool("export answered \(reply.status): \(reply.text)") }
        FileHandle.standardOutput.write(reply.body)
    }

    static func encode(_ items: [URLQueryItem]) -> String {
        var components = URLComponents()
        components.queryItems = items
        return components.percentEncodedQuery ?? ""
    }
}

/// `perfmond compare`: two components' (or implementations') latency side by side, with the
/// daemon's verdict on whether the difference is significant.
public struct Compare: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        abstract: "Compare the latency of two components, e.g. two implementations of one step.",
        discussion: """
            Example: perfmond compare python_routing rust_routing --window 1h
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @Option(help: "The window to compare over (default: since start).")
    var window: String?

    @Flag(help: "Print the daemon's JSON answer as it is.")
    var json = false

    @Argument(help: "The first component (the baseline).")
    var a: String

    @Argument(help: "The second component.")
    var b: String

    public func run() async throws {
        var query = [URLQueryItem(name: "a", value: a), URLQueryItem(name: "b", value: b)]
        if let window { query.append(URLQueryItem(name: "window", value: window)) }
        let client = try daemon.client()
        let reply: DaemonClient.Reply
        do {
            reply = try await client.get("/performance/compare?" + Export.encode(query))
        } catch {
            failTool("\(error)")
        }
        guard reply.status == 200 else { failTool("compare answered \(reply.status): \(reply.text)") }
        if json {
            FileHandle.standardOutput.write(reply.body)
            print()
            return
        }
        let answer = (try? JSONParser.parse(Array(reply.body))) ?? .null
        print(Self.render(answer, a: a, b: b))
    }

    /// A few readable lines from the compare answer.
    static func render(_ answer: JSONValue, a: String, b: String) -> String {
        func value(_ path: String...) -> String {
            answer.at(path[0], path[1])?.numberValue.map(Table.number) ?? "–"
        }
        let significant = answer.at("significant") == .bool(true)
        let pValue = answer.at("significance_test", "p_value")?.numberValue.map(Table.number) ?? "–"
        return [
            Table.format([
                ["", a, b],
                ["samples", value("samples", "a"), value("samples", "b")],
                ["success %", value("reliability", "a_success_rate"), value("reliability", "b_success_rate")],
            ]),
            "\(b) vs \(a): average latency ×\(value("speed_improvement", "avg_latency")) faster, "
                + "p95 ×\(value("speed_improvement", "p95_latency")), throughput ×\(value("speed_improvement", "throughput"))",
            significant ? "the difference in mean latency is significant (Welch's t-test, p = \(pValue))"
                : "no significant difference in mean latency (Welch's t-test, p = \(pValue), or too few samples)",
        ].joined(separator: "\n")
    }
}
