import Foundation
import PerfJSON
import PerfMonitor
import PerfmondTools
import Testing
import TestSupport

/// The command-line tools' own logic; their use against a real daemon is in Tests/ui/dashboard-test.sh.
@Suite struct ToolTests {
    @Test func sendSplitsArraysObjectsAndNDJSON() {
        #expect(Send.split(Array(#"[{"a":1},{"b":[2,3]}]"#.utf8)) == [#"{"a":1}"#, #"{"b":[2,3]}"#])
        #expect(Send.split(Array(#" {"a":1.50} "#.utf8)) == [#"{"a":1.50}"#], "numbers keep their text")
        #expect(Send.split(Array("{\"a\":1}\n\n  {\"b\":2}\r\n".utf8)) == [#"{"a":1}"#, #"{"b":2}"#])
        #expect(Send.split([]) == [])
    }

    @Test func everyGeneratedEventIsValidAndTheSeedRepeats() {
        var first = GatewayTraffic(seed: 42, errorRate: 0.1), second = GatewayTraffic(seed: 42, errorRate: 0.1)
        let decoder = EventDecoder(maxAgeSeconds: 86_400)
        var lines: [String] = []
        for _ in 0..<2000 { lines += first.call(at: 1_800_000_000) }
        var again: [String] = []
        for _ in 0..<2000 { again += second.call(at: 1_800_000_000) }
        #expect(lines == again)
        let batch = decoder.decode(Array(lines.joined(separator: "\n").utf8), form: .ndjson, now: 1_800_000_000)
        #expect(batch.errors.isEmpty, "\(batch.errors.prefix(3))")
        #expect(batch.events.count == lines.count)
        let calls = batch.events.compactMap { event -> ProviderCall? in
            if case let .providerCall(call) = event.kind { call } else { nil }
        }
        #expect(calls.count == 2000)
        let failed = calls.filter { !$0.outcome.success }.count
        #expect((120...280).contains(failed), "about 10 % fail: \(failed)")
        #expect(Set(calls.compactMap(\.model)).count == GatewayTraffic.modelCount)
        #expect(batch.events.contains { $0.type == .rateLimitHit })
    }

    @Test func tablesAlignAndNumbersRound() {
        #expect(Table.number(0.3456) == "0.35")
        #expect(Table.number(12.5) == "12.5")
        #expect(Table.number(1234.56) == "1235")
        #expect(Table.number(7) == "7")
        #expect(Table.number(.nan) == "–")
        #expect(Table.format([["name", "n"], ["openai/gpt-4o", "12"]]) == "name            n\nopenai/gpt-4o  12")
    }
}
