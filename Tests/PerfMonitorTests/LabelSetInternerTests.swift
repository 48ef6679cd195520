@testable import PerfMonitor
import Testing

/// The decoder recognises a `labels` object it has read before by its text: the same label set
/// comes back, a refused one is refused again every time, and the set of texts stays bounded.
@Suite struct LabelSetInternerTests {
    private func labels(_ decoder: EventDecoder, _ labelsJSON: String) -> Result<MetricLabels, EventError> {
        let body = #"{"type": "metric", "metric": "llm.tokens", "kind": "counter", "value": 1, "labels": \#(labelsJSON)}"#
        let batch = decoder.decode(Array(body.utf8), form: .json, now: now)
        if case let .metric(sample)? = batch.events.first?.kind { return .success(sample.labels) }
        return .failure(EventError(batch.errors.first?.message ?? "nothing"))
    }

    @Test func theSameTextIsTheSameLabelSet() throws {
        let decoder = EventDecoder(maxAgeSeconds: 86_400)
        let text = #"{"route": "chat", "app": "gateway", "env": "prod"}"#
        let first = try labels(decoder, text).get()
        let second = try labels(decoder, text).get()
        #expect(first.key == #"app="gateway",env="prod",route="chat""#)
        #expect(second.names == ["app", "env", "route"] && second.values == ["gateway", "prod", "chat"])
        #expect(decoder.labelSets.count == 1)
        // Another spelling of the same set is read afresh and gives the same key.
        #expect(try labels(decoder, #"{"env":"prod","route":"chat","app":"gateway"}"#).get() == first)
        #expect(decoder.labelSets.count == 2)
    }

    @Test func aRefusedLabelSetIsRefusedEveryTime() {
        let decoder = EventDecoder(maxAgeSeconds: 86_400)
        for _ in 0..<3 {
            guard case let .failure(error) = labels(decoder, #"{"le": "1"}"#) else {
                Issue.record("a reserved label name was accepted")
                return
            }
            #expect(error.message.contains("reserved label names"))
        }
        #expect(decoder.labelSets.count == 0)
    }

    @Test func theTextsHeldAreBounded() throws {
        let decoder = EventDecoder(maxAgeSeconds: 86_400)
        for index in 0..<(LabelSetInterner.capacity + 10) {
            _ = try labels(decoder, #"{"series": "\#(index)"}"#).get()
        }
        #expect(decoder.labelSets.count == 10, "full at \(LabelSetInterner.capacity), it started over")
        #expect(try labels(decoder, #"{"series": "7"}"#).get().key == #"series="7""#)
    }
}
