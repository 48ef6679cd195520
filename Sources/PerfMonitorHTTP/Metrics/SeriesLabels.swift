/// One series' labels, rendered and escaped once for the text formats (`bytes`), and kept as
/// pairs for the protobuf exposition and remote write.
struct SeriesLabels {
    let pairs: [(String, String)]
    let bytes: [UInt8]

    static let none = SeriesLabels([])

    init(_ pairs: [(String, String)]) {
        self.pairs = pairs
        var bytes: [UInt8] = []
        for (index, (name, value)) in pairs.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: name.utf8)
            bytes.append(contentsOf: [UInt8(ascii: "="), UInt8(ascii: "\"")])
            Self.escape(value, into: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }
        self.bytes = bytes
    }

    /// Label values escape backslash, double quote and line feed (HELP text: not the quote).
    static func escape(_ text: String, into bytes: inout [UInt8], quotes: Bool = true) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case UInt8(ascii: "\n"): bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case UInt8(ascii: "\"") where quotes: bytes.append(contentsOf: [0x5C, 0x22])
            default: bytes.append(byte)
            }
        }
    }
}
