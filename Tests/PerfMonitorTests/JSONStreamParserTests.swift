import PerfJSON
import Testing

/// Builds the whole value from the stream parser's reports, so that it can be compared with
/// `JSONParser`'s reading of the same text.
private struct TreeBuilder: JSONStreamHandler {
    enum Open {
        case array([JSONValue])
        case object([(String, JSONValue)], key: String)
    }

    var open: [Open] = []
    var done: [JSONValue] = []
    /// Containers at this depth (1: the top level) are declined.
    var declineDepth = Int.max

    mutating func begin(object: Bool, at offset: Int) throws(JSONSyntaxError) -> Bool {
        guard open.count + 1 < declineDepth else { return false }
        open.append(object ? .object([], key: "") : .array([]))
        return true
    }

    mutating func end(at offset: Int) throws(JSONSyntaxError) {
        switch open.removeLast() {
        case let .array(elements): add(.array(elements))
        case let .object(members, _): add(.object(members))
        }
    }

    mutating func key(_ key: String) -> Bool {
        if case let .object(members, _) = open.last { open[open.count - 1] = .object(members, key: key) }
        return true
    }

    mutating func element() -> Bool { true }

    mutating func value(_ value: JSONValue?, at offset: Int) throws(JSONSyntaxError) {
        add(value ?? .string("<skipped>"))
    }

    private mutating func add(_ value: JSONValue) {
        switch open.last {
        case nil: done.append(value)
        case var .array(elements)?:
            elements.append(value)
            open[open.count - 1] = .array(elements)
        case .object(var members, let key)?:
            members.append((key, value))
            open[open.count - 1] = .object(members, key: key)
        }
    }
}

@Suite struct JSONStreamParserTests {
    static let documents = [
        #" {"a": [1, -2.5e3, 0.5, 1E+2, true, false, null], "b": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00 ünï", "c": {}, "d": []} "#,
        #"[{"model":"gpt-4o","startTime":1796131864.194075,"messages":[{"role":"user","content":"hi \"there\""}]},{"x":{"y":{"z":[[[]]]}}}]"#,
        #""just a string""#,
        "-0",
    ]

    /// Every document, fed in pieces of every size from 1 byte to whole, reads as `JSONParser` reads it.
    @Test(arguments: documents)
    func readsAsTheWholeTextParserDoes(text: String) throws {
        let bytes = Array(text.utf8)
        let expected = try JSONParser.parse(bytes)
        for size in 1...bytes.count {
            #expect(try read(bytes, pieces: size).done == [expected], "pieces of \(size) bytes")
        }
    }

    @Test func readsASequenceOfValues() throws {
        let builder = try read(Array("{\"a\":1}\n{\"a\":2}\n\n[3] 4".utf8), pieces: 3)
        #expect(builder.done == [.object([("a", .number(1, text: "1"))]), .object([("a", .number(2, text: "2"))]),
                                 .array([.number(3, text: "3")]), .number(4, text: "4")])
    }

    @Test func declinedContainersAreSkippedWhole() throws {
        var builder = TreeBuilder()
        builder.declineDepth = 2
        let value = try read(Array(#"{"keep": 1, "skip": {"deep": [1, {"x": "}]"}]}, "after": [true]}"#.utf8), pieces: 5, builder)
        #expect(value.done == [.object([("keep", .number(1, text: "1")), ("skip", .string("<skipped>")), ("after", .string("<skipped>"))])])
    }

    @Test(arguments: [
        ("", nil as Int?),  // nothing at all is no value, not an error: the reader decides
        ("{", 1), (#"{"a" 1}"#, 5), (#"{"a":1,}"#, 7), ("[1 2]", 3), ("[1,]", 3), ("01", 0), ("1.", 0), ("-", 0),
        ("tru", 3), (#""abc"#, 4), ("\"a\u{01}\"", 2), (#""\x""#, 2), ("NaN", 0), ("[}", 1), (#"{"a":{"b":[1}}"#, 12),
        (#""\u12G4""#, 5), ("1e", 0), ("[1]]", 3),
    ] as [(String, Int?)])
    func refusesWhatIsNotJSON(text: String, offset: Int?) {
        let bytes = Array(text.utf8)
        for size in [1, Swift.max(1, bytes.count)] {
            do {
                _ = try read(bytes, pieces: size)
                #expect(offset == nil, "'\(text)' was read")
            } catch {
                #expect(error.offset == offset, "'\(text)' in pieces of \(size): \(error.message)")
            }
        }
    }

    /// Python's `json.dumps` writes a broken string's lone surrogates as they are (LiteLLM does):
    /// they read as U+FFFD instead of spoiling the batch.
    @Test func readsLoneSurrogatesAsReplacementCharacters() throws {
        let builder = try read(Array(#"{"lone":"\ud800x","low":"\udc00","end":"\ud83d"}"#.utf8), pieces: 3)
        #expect(builder.done == [.object([("lone", .string("\u{FFFD}x")), ("low", .string("\u{FFFD}")), ("end", .string("\u{FFFD}"))])])
    }

    @Test func refusesNestingPastTheLimit() {
        let deep = Array(String(repeating: "[", count: 65).utf8)
        #expect(throws: JSONSyntaxError.self) { try read(deep, pieces: 7) }
    }

    @Test func keepsOnlyTheStartOfAVeryLongString() throws {
        let long = String(repeating: "é", count: 40_000)  // 80,000 bytes
        let builder = try read(Array("[\"\(long)\"]".utf8), pieces: 1000)
        guard case let .array(elements) = builder.done.first, case let .string(kept) = elements.first else {
            Issue.record("no string")
            return
        }
        #expect(kept.utf8.count == 65_536)
    }

    private func read(_ bytes: [UInt8], pieces size: Int, _ builder: TreeBuilder = TreeBuilder()) throws(JSONSyntaxError) -> TreeBuilder {
        var parser = JSONStreamParser(handler: builder)
        var start = 0
        while start < bytes.count {
            let end = Swift.min(bytes.count, start + size)
            let result: Result<Void, JSONSyntaxError> = bytes.withUnsafeBytes { all in
                Result { () throws(JSONSyntaxError) in try parser.feed(UnsafeRawBufferPointer(rebasing: all[start..<end])) }
            }
            try result.get()
            start = end
        }
        try parser.finish()
        return parser.handler
    }
}
