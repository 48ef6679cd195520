import ArgumentParser
import Foundation
import PerfJSON

/// `perfmond send`: posts events from a file or stdin in batches, waits out `429`/`503` as their
/// `Retry-After` says, and prints how many were accepted and rejected.
public struct Send: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        abstract: "Post events from NDJSON or JSON (a file or -) to a running daemon.",
        discussion: """
            Input is one JSON event, a JSON array of events, or NDJSON (one event per line). Events go
            in batches; a batch answered 429 (queue full) or 503 (restarting) is sent again after its
            Retry-After. Exit 0 when every event was accepted, 1 otherwise.
            Example: perfmond send --url http://127.0.0.1:9470 events.ndjson
                     gunzip -c day.ndjson.gz | perfmond send -
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @Option(help: "Events per POST.")
    var batch = 1000

    @Option(help: "Give up on a batch after waiting this many seconds in all for the daemon.")
    var maxWait: Double = 120

    @Argument(help: "A file of events, or - for standard input.")
    var input = "-"

    public func validate() throws {
        guard (1...100_000).contains(batch) else { throw ValidationError("--batch must be from 1 to 100000") }
        guard maxWait >= 0 else { throw ValidationError("--max-wait must not be negative") }
    }

    public func run() async throws {
        let client = try daemon.client()
        let data: Data
        if input == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let read = FileManager.default.contents(atPath: input) else { failTool("cannot read \(input)") }
            data = read
        }
        let events = Self.split(Array(data))
        var totals = SendTotals()
        for start in stride(from: 0, to: events.count, by: batch) {
            let body = events[start..<min(start + batch, events.count)].joined(separator: "\n")
            try await deliver(Data(body.utf8), count: min(batch, events.count - start), with: client, totals: &totals)
        }
        print("accepted \(totals.accepted), rejected \(totals.rejected), batches \(totals.batches), retries \(totals.retries)")
        for error in totals.errors.prefix(10) { print("  \(error)") }
        if totals.rejected > 0 || totals.accepted != events.count { throw ExitCode.failure }
    }

    /// One batch, sent until it is answered for good or `maxWait` runs out.
    private func deliver(_ body: Data, count: Int, with client: DaemonClient, totals: inout SendTotals) async throws {
        totals.batches += 1
        var waited = 0.0
        while true {
            var pause: Double
            do {
                let reply = try await client.post("/events", body: body, contentType: "application/x-ndjson")
                switch reply.status {
                case 202, 400:
                    totals.count(reply, sent: count)
                    return
                case 429, 503:
                    pause = Double(reply.header("Retry-After") ?? "") ?? 1
                default:
                    failTool("POST /events answered \(reply.status): \(reply.text)")
                }
            } catch let unreachable as DaemonClient.Unreachable {
                pause = 1
                if waited + pause > maxWait { failTool("\(unreachable)") }
            }
            guard waited + pause <= maxWait else {
                failTool("the daemon kept refusing a batch for \(Int(waited)) s (queue full or restarting); \(totals.accepted) events accepted so far")
            }
            totals.retries += 1
            waited += pause
            try await Task.sleep(for: .milliseconds(Int(pause * 1000)))
        }
    }

    /// The events of a body as JSON texts: the elements of an array, one object, or NDJSON lines.
    public static func split(_ bytes: [UInt8]) -> [String] {
        if let whole = try? JSONParser.parse(bytes) {
            if let items = whole.arrayValue { return items.map(\.rendered) }
            return [whole.rendered]
        }
        return String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { String($0).trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }
}

/// What `send` reports at the end.
struct SendTotals {
    var accepted = 0
    var rejected = 0
    var batches = 0
    var retries = 0
    var errors: [String] = []

    /// Adds what a `202` or `400` answer of `POST /events` says was accepted and rejected (a
    /// `400` without a summary rejected all it was `sent`), keeping the first ten error messages.
    mutating func count(_ reply: DaemonClient.Reply, sent: Int) {
        let summary = try? JSONParser.parse(Array(reply.body))
        accepted += Int(summary?.at("accepted")?.numberValue ?? 0)
        rejected += Int(summary?.at("rejected")?.numberValue ?? (reply.status == 400 ? Double(sent) : 0))
        for error in (summary?.at("errors")?.arrayValue ?? []).prefix(max(0, 10 - errors.count)) {
            errors.append(error.at("error")?.stringValue ?? error.rendered)
        }
    }
}
