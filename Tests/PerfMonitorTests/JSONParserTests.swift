import PerfJSON
import PerfMonitor
import Testing

@Suite struct JSONParserTests {
    func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func parsesEveryKindOfValue() throws {
        let value = try parse(#" {"a": [1, -2.5e3, true, false, null], "b": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "c": {}} "#)
        #expect(value == .object([
            ("a", .array([.number(1, text: "1"), .number(-2500, text: "-2.5e3"), .bool(true), .bool(false), .null])),
            ("b", .string("x\"\\/\u{8}\u{c}\n\r\té😀")),
            ("c", .object([])),
        ]))
    }

    @Test(arguments: [
        ("", 0 as Int, "unexpected end of input, expected a value"),
        ("{", 1, "expected a string key in object"),
        (#"{"a" 1}"#, 5, "expected ':' after object key"),
        (#"{"a":1,}"#, 7, "expected a string key in object"),
        ("[1 2]", 3, "expected ',' or ']' in array"),
        ("01", 1, "unexpected text after the JSON value"),
        ("1.", 0, "invalid number: digits expected after '.'"),
        ("-", 0, "invalid number"),
        ("tru", 0, "invalid literal, expected true"),
        (#""abc"#, 0, "unterminated string"),
        ("\"a\u{01}\"", 2, "control character in string; it must be escaped"),
        (#""\x""#, 1, #"invalid escape '\x' in string"#),
        (#""\ud800""#, 1, #"unpaired surrogate in \u escape"#),
        ("{} {}", 3, "unexpected text after the JSON value"),
        ("NaN", 0, "unexpected character 'N', expected a value"),
    ] as [(String, Int, String)])
    func refusesWithOffset(text: String, offset: Int, message: String) {
        #expect(throws: JSONSyntaxError(offset: offset, message: message)) { try parse(text) }
    }

    @Test func refusesInvalidUTF8() {
        #expect(throws: JSONSyntaxError(offset: 0, message: "invalid UTF-8 in string")) {
            try JSONParser.parse([0x22, 0xFF, 0xFE, 0x22])
        }
        #expect(throws: JSONSyntaxError(offset: 0, message: "invalid UTF-8 in string")) {
            try JSONParser.parse([0x22, 0x5C, 0x6E, 0xC3, 0x22])  // "\n" then a truncated sequence
        }
    }

    @Test func refusesDeepNesting() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONSyntaxError.self) { try parse(deep) }
    }

    @Test func decimalsReadExactlyAsStrtodReadsThem() throws {
        var random = SeededRandom(seed: 9)
        for _ in 0..<50_000 {
            let integer = String(random.next() % 1_000_000_000_000_000)
            let fraction = String(random.next() % 10_000_000_000, radix: 10)
            let padding = String(repeating: "0", count: Int(random.next() % 12))
            let sign = random.next() % 4 == 0 ? "-" : ""
            let text = sign + String(integer.prefix(Int(random.next() % 18) + 1)) + "." + padding + String(fraction.prefix(Int(random.next() % 10) + 1))
            guard case let .number(value, _) = try parse(text) else { Issue.record("\(text) is not a number"); return }
            let expected = Double(text)!
            #expect(value.bitPattern == expected.bitPattern, "\(text): \(value) vs \(expected)")
            if value.bitPattern != expected.bitPattern { return }
        }
        #expect(try parse("-0").numberValue!.sign == .minus)
    }

    @Test func keepsNumberText() throws {
        #expect(try parse("1e400") == .number(.infinity, text: "1e400"))
        #expect(try parse("123456789012345678").quoted == "123456789012345678")
    }
}
