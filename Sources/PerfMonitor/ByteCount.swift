/// Byte units, named once: the API's `_mb` fields are MiB (api.md §0).
public enum ByteCount {
    public static let kibibyte = 1024.0
    public static let mebibyte = 1_048_576.0
}
