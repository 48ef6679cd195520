/// Parses sizes as configuration spells them: plain bytes (`1048576`) or binary units
/// (`512KiB`, `1MiB`, `1GiB`). Decimal units (`MB`) are refused rather than guessed.
public enum ByteSize {
    public static let syntax = "a byte count, or a number with KiB, MiB or GiB (e.g. 1MiB)"

    private static let units: [(suffix: String, factor: Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("B", 1)]

    public static func parse(_ text: String) -> Int? {
        let trimmed = text.replacingSpaces
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            guard let number = Double(trimmed.dropLast(unit.suffix.count)), number >= 0,
                  number * Double(unit.factor) < Double(Int.max / 2) else { return nil }
            return Int(number * Double(unit.factor))
        }
        return Int(trimmed).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// The shortest exact spelling: `1048576` → `1MiB`.
    public static func format(_ bytes: Int) -> String {
        for unit in units where unit.factor > 1 && bytes > 0 && bytes % unit.factor == 0 && bytes / unit.factor < 1024 {
            return "\(bytes / unit.factor)\(unit.suffix)"
        }
        return String(bytes)
    }
}

extension String {
    var replacingSpaces: String { String(filter { $0 != " " && $0 != "\t" }) }
}
