#if canImport(Glibc)
import Glibc
#endif

/// A parsed HTTP/1.1 response.
public struct HTTPReply: Sendable {
    public let status: Int
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Why a test client call failed.
public struct ClientError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// An HTTP/1.1 client over one blocking TCP socket, so that tests decide exactly what goes on
/// the wire: keep-alive reuse, bodies split across writes, chunked uploads, half-sent requests.
/// Every read times out (5 s by default) so that no test can hang.
public final class RawHTTPClient: @unchecked Sendable {  // one thread at a time uses it; tests only hand it over between steps
    public private(set) var fd: Int32
    private var buffer: [UInt8] = []

    public init(host: String = "127.0.0.1", port: Int, timeoutSeconds: Int = 5) throws {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &results) == 0, let info = results else {
            throw ClientError("cannot resolve \(host)")
        }
        defer { freeaddrinfo(results) }
        fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError("socket: errno \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let code = errno
            // deinit still runs for a class whose throwing init fails: close here, once, and mark it.
            Glibc.close(fd)
            fd = -1
            throw ClientError("connect to \(host):\(port): errno \(code)")
        }
    }

    deinit { close() }

    /// Closes the socket now rather than when the client goes away.
    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Writes raw bytes as they are.
    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw ClientError("send: errno \(errno)") }
            offset += written
        }
    }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Sends one request with `Content-Length` (when there is a body) and reads the answer.
    public func request(
        _ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) throws -> HTTPReply {
        try send(Self.head(method, target, headers: headers, contentLength: body.isEmpty && method != "POST" ? nil : body.count) + body)
        return try readReply(method: method)
    }

    public func get(_ target: String, headers: [(String, String)] = []) throws -> HTTPReply {
        try request("GET", target, headers: headers)
    }

    public static func head(_ method: String, _ target: String, headers: [(String, String)], contentLength: Int?) -> [UInt8] {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let contentLength { text += "Content-Length: \(contentLength)\r\n" }
        return Array((text + "\r\n").utf8)
    }

    /// Reads one response; a `HEAD` answer has no body whatever its `Content-Length` says.
    public func readReply(method: String = "GET") throws -> HTTPReply {
        let headerEnd = try readUntil([13, 10, 13, 10])
        let headText = String(decoding: buffer[..<headerEnd], as: UTF8.self)
        buffer.removeSubrange(..<(headerEnd + 4))
        var lines = headText.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw ClientError("bad status line: \(headText)") }
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: " "))
        }
        let reply = { (body: [UInt8]) in HTTPReply(status: status, headers: headers, body: body) }
        if method == "HEAD" || status == 204 || status == 304 { return reply([]) }
        if let length = headers.first(where: { $0.name.lowercased() == "content-length" }).flatMap({ Int($0.value) }) {
            try fill(length)
            let body = Array(buffer[..<length])
            buffer.removeSubrange(..<length)
            return reply(body)
        }
        if headers.contains(where: { $0.name.lowercased() == "transfer-encoding" && $0.value.lowercased().contains("chunked") }) {
            var body: [UInt8] = []
            while true {
                let lineEnd = try readUntil([13, 10])
                let size = Int(String(decoding: buffer[..<lineEnd], as: UTF8.self).split(separator: ";")[0], radix: 16) ?? 0
                buffer.removeSubrange(..<(lineEnd + 2))
                try fill(size + 2)
                body += buffer[..<size]
                buffer.removeSubrange(..<(size + 2))
                if size == 0 { return reply(body) }
            }
        }
        while try readMore() {}
        defer { buffer = [] }
        return reply(buffer)
    }

    /// Everything the server sends until it closes the connection, and whether it did within
    /// `waitingMilliseconds` in all.
    public func readUntilClosed(waitingMilliseconds: Int32) -> (answer: String, closed: Bool) {
        var received: [UInt8] = []
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int(waitingMilliseconds)))
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) == 1 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &chunk, chunk.count, 0)
            if count <= 0 { return (String(decoding: received, as: UTF8.self), true) }
            received += chunk[..<count]
        }
        return (String(decoding: received, as: UTF8.self), false)
    }

    /// True when the server has closed the connection (reads end of stream within the timeout).
    public func isClosedByPeer(waitingMilliseconds: Int32 = 1000) -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, waitingMilliseconds) == 1 else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK)) == 0
    }

    private func readUntil(_ marker: [UInt8]) throws -> Int {
        var searchFrom = 0
        while true {
            if buffer.count >= marker.count {
                for start in searchFrom...(buffer.count - marker.count) where buffer[start..<(start + marker.count)].elementsEqual(marker) {
                    return start
                }
                searchFrom = buffer.count - marker.count + 1
            }
            guard try readMore() else { throw ClientError("connection closed before the response was complete") }
        }
    }

    private func fill(_ count: Int) throws {
        while buffer.count < count {
            guard try readMore() else { throw ClientError("connection closed inside a response body") }
        }
    }

    private func readMore() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let received = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if received < 0 { throw ClientError(errno == EAGAIN ? "read timed out" : "recv: errno \(errno)") }
        buffer += chunk[..<received]
        return received > 0
    }
}

extension String {
    func trimmingCharacters(in character: Character) -> String {
        var view = Substring(self)
        while view.first == character { view.removeFirst() }
        while view.last == character { view.removeLast() }
        return String(view)
    }
}
