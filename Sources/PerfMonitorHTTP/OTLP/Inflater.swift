import CZlib

/// Inflates a gzip (or zlib, HTTP's `deflate`) request body as it arrives, up to a limit on the
/// inflated size: a small body that inflates past it is stopped at the limit, not held whole.
final class Inflater {
    enum Failure: Error, Equatable {
        case tooLarge
        case corrupt(String)
    }

    private var stream = z_stream()
    /// Where each inflate call writes, reused for every piece of the body.
    private var chunk = [UInt8](repeating: 0, count: 64 << 10)
    private var finished = false
    private var ready: Bool
    let limit: Int

    init(limit: Int) {
        self.limit = limit
        ready = czlib_inflate_init(&stream) == Z_OK
    }

    deinit {
        if ready { inflateEnd(&stream) }
    }

    /// Inflates `input`, appending to `output`.
    func feed(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws(Failure) {
        guard ready else { throw .corrupt("zlib could not start") }
        guard !input.isEmpty else { return }
        guard !finished else { throw .corrupt("bytes after the end of the compressed stream") }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        while stream.avail_in > 0 {
            let result = chunk.withUnsafeMutableBytes { buffer in
                stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(buffer.count)
                return inflate(&stream, Z_NO_FLUSH)
            }
            let produced = chunk.count - Int(stream.avail_out)
            guard output.count + produced <= limit else { throw .tooLarge }
            output.append(contentsOf: chunk[..<produced])
            switch result {
            case Z_OK: continue
            case Z_STREAM_END:
                finished = true
                guard stream.avail_in == 0 else { throw .corrupt("bytes after the end of the compressed stream") }
            case Z_BUF_ERROR where produced > 0: continue
            default: throw .corrupt(stream.msg.map { String(cString: $0) } ?? "zlib error \(result)")
            }
        }
        stream.next_in = nil
    }

    /// Whether the compressed stream ended (a body cut short did not).
    var isComplete: Bool { finished }
}
