import Foundation
import Logging
import MicroHTTPD
import PerfJSON
import Testing
import TestSupport

/// A server on port 0 with routes that show what the wrapper hands to handlers.
/// Runs `body` with a started test server and stops it afterwards, whether `body` returns or
/// throws (a server released while running traps).
func withServer<T>(_ configuration: ServerConfiguration = ServerConfiguration(), _ body: (HTTPServer) async throws -> T) async throws -> T {
    try await withStopping(try makeServer(configuration), { await $0.shutdown() }, body)
}

func makeServer(_ configuration: ServerConfiguration = ServerConfiguration()) throws -> HTTPServer {
    var router = Router()
    router.get("/hello", "/hi") { _ in .json(#"{"hello":"world"}"#) }
    router.add("POST", "/echo", handler: .sync { request in
        Response(status: 200, headers: HTTPHeaders([("Content-Type", "application/octet-stream")]), body: request.body)
    })
    router.add("POST", "/stream", handler: .streaming(BodyStream(maxBodyBytes: 5000) { _ in PieceCounter() }))
    router.get("/query") { request in
        let pairs = request.query.map { JSONString.quoted($0.name) + ":" + JSONString.quoted($0.value) }
        return .json("[" + pairs.map { "{\($0)}" }.joined(separator: ",") + "]")
    }
    router.get("/header") { request in .json(JSONString.quoted(request.headers["X-Test"] ?? "missing")) }
    router.get("/path") { request in .json(JSONString.quoted(request.path)) }
    router.add("GET", "/async", handler: .async { request in
        try? await Task.sleep(for: .milliseconds(5))
        return .json(JSONString.quoted("async " + (request.queryValue("n") ?? "")))
    })
    router.add("GET", "/slow", handler: .async { _ in
        try? await Task.sleep(for: .milliseconds(300))
        return .json(#""slow""#)
    })
    router.add("GET", "/never", handler: .async { _ in
        try? await Task.sleep(for: .seconds(30))
        return .json(#""late""#)
    })
    let server = HTTPServer(configuration: configuration, router: router, logger: Logger(label: "test"))
    try server.start()
    return server
}

/// Waits (up to 10 s) until the server has received a request, so a stop begins with one in flight.
func waitUntilInFlight(_ server: HTTPServer) async throws {
    let deadline = ContinuousClock.now.advanced(by: .seconds(10))
    while server.requestsInFlight == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
    try #require(server.requestsInFlight > 0)
}

@Suite struct ServerTests {
    @Test func portZeroPicksAFreePortAndTwoServersDiffer() async throws {
        try await withServer { a in
            try await withServer { b in
                #expect(a.port > 0)
                #expect(b.port > 0)
                #expect(a.port != b.port)
            }
        }
    }

    @Test func aPortInUseIsAClearError() async throws {
        try await withServer { a in
            let b = HTTPServer(configuration: ServerConfiguration(port: a.port), router: Router(), logger: Logger(label: "test"))
            #expect {
                try b.start()
            } throws: { error in
                "\(error)".contains("cannot listen on 127.0.0.1:\(a.port): Address already in use") && !"\(error)".contains("port 0")
            }
        }
    }

    @Test func thousandRequestsOnOneKeepAliveConnection() async throws {
        try await withServer { server in
            let statuses = try await onThread {
                // A long read timeout: the point is that 1,000 requests share one connection, and
                // on a loaded 2-core machine an async handler's task can wait seconds for a thread.
                let client = try RawHTTPClient(port: server.port, timeoutSeconds: 30)
                var statuses: [Int] = []
                for index in 0..<1000 {
                    let reply = try client.get(index % 2 == 0 ? "/hello" : "/async?n=\(index)")
                    statuses.append(reply.status)
                    if index == 999 { precondition(reply.text == "\"async 999\"") }
                }
                return (statuses, client.isClosedByPeer(waitingMilliseconds: 200))
            }
            #expect(statuses.0.count == 1000)
            #expect(statuses.0.allSatisfy { $0 == 200 })
            #expect(statuses.1 == false, "the connection must stay open")
        }
    }

    @Test func hundredConcurrentClients() async throws {
        try await withServer { server in
            let replies = try await onThreads(100) { index in
                let client = try RawHTTPClient(port: server.port)
                return try (0..<10).map { _ in try client.get("/async?n=\(index)").text }
            }
            #expect(replies.count == 100)
            for (index, texts) in replies.enumerated() {
                #expect(texts == Array(repeating: "\"async \(index)\"", count: 10))
            }
        }
    }

    @Test func unknownPathIs404JSON() async throws {
        try await withServer { server in
            let reply = try await onThread { try RawHTTPClient(port: server.port).get("/nope") }
            #expect(reply.status == 404)
            #expect(reply.header("Content-Type") == "application/json; charset=utf-8")
            #expect(reply.text == #"{"error":"no such path: /nope","status":404}"#)
        }
    }

    /// libmicrohttpd's 32 KiB pool holds a query of about 550 parameters: above 100 the wrapper
    /// answers 431 while it can, and past the pool it shuts the unanswered connection (issue 24, 3).
    @Test func tooManyQueryParametersAreRefusedOrCut() async throws {
        @Sendable func query(_ count: Int) -> String { (0..<count).map { "a\($0)=1" }.joined(separator: "&") }
        try await withServer { server in
            let allowed = try await onThread { try RawHTTPClient(port: server.port).get("/query?" + query(100)) }
            #expect(allowed.status == 200)
            let refused = try await onThread { try RawHTTPClient(port: server.port).get("/query?" + query(101)) }
            #expect(refused.status == 431)
            #expect(refused.text == #"{"error":"more than 100 query parameters; no perfmond query takes more than a few","status":431}"#)
            // libmicrohttpd then either sends its own 431 (when its pool still holds that) or
            // nothing, and the guard shuts the connection: either way it ends within the bound.
            let started = ContinuousClock.now
            let ended = try await onThread { () throws -> (answer: String, closed: Bool) in
                let client = try RawHTTPClient(port: server.port)
                try client.send("GET /query?\(query(600)) HTTP/1.1\r\nHost: a\r\n\r\n")
                return client.readUntilClosed(waitingMilliseconds: 3000)
            }
            #expect(ended.closed && (ended.answer.isEmpty || ended.answer.hasPrefix("HTTP/1.1 431")), "\(ended)")
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(server.refusals.framing["too_many_query_parameters"] == 1)
            // Either way libmicrohttpd logs (and the wrapper counts) the 431 it meant to send.
            #expect(server.refusals.byLibrary[431] == 1)
            // The sweep counts a shutdown just after it: the client may see the end first.
            let shut = { server.refusals.closedWaiting["too_many_query_parameters"] ?? 0 }
            for _ in 0..<100 where shut() == 0 && ended.answer.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            #expect(shut() == (ended.answer.isEmpty ? 1 : 0))
        }
    }

    /// What libmicrohttpd refuses itself never reaches a handler: counted by status from its log.
    @Test func theLibrarysOwnRefusalsAreCountedByStatus() async throws {
        try await withServer { server in
            let requests = [
                "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n",
                "GET /" + String(repeating: "a", count: 40_000) + " HTTP/1.1\r\nHost: a\r\n\r\n",
                "GET /hello HTTP/3.0\r\nHost: a\r\n\r\n",
            ]
            for text in requests {
                let status = try await onThread { () throws -> Int in
                    let client = try RawHTTPClient(port: server.port)
                    try client.send(text)
                    return try client.readReply().status
                }
                #expect([400, 414, 505].contains(status))
            }
            #expect(server.refusals.byLibrary == [400: 1, 414: 1, 505: 1])
        }
    }

    @Test func wrongMethodIs405WithAllow() async throws {
        try await withServer { server in
            let (post, delete) = try await onThread {
                let client = try RawHTTPClient(port: server.port)
                return (try client.request("POST", "/hello", body: Array("x".utf8)), try client.request("DELETE", "/echo"))
            }
            #expect(post.status == 405)
            #expect(post.header("Allow") == "GET, HEAD")
            #expect(post.text == #"{"error":"method POST is not allowed on /hello; allowed: GET, HEAD","status":405}"#)
            #expect(delete.status == 405)
            #expect(delete.header("Allow") == "POST")
        }
    }

    @Test func headAnswersLikeGetWithoutBody() async throws {
        try await withServer { server in
            let (head, get) = try await onThread {
                let client = try RawHTTPClient(port: server.port)
                return (try client.request("HEAD", "/hello"), try client.get("/hello"))
            }
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            #expect(head.header("Content-Length") == "17")
            #expect(get.text == #"{"hello":"world"}"#, "the connection is still usable after HEAD")
        }
    }

    @Test func aliasesAnswerTheSame() async throws {
        try await withServer { server in
            let reply = try await onThread { try RawHTTPClient(port: server.port).get("/hi") }
            #expect(reply.text == #"{"hello":"world"}"#)
        }
    }

    @Test func queryParametersAreDecoded() async throws {
        try await withServer { server in
            let reply = try await onThread {
                try RawHTTPClient(port: server.port).get("/query?a=x%2Fy&b=hello+world&a=2&c=%2B&empty=&flag")
            }
            #expect(reply.text == #"[{"a":"x/y"},{"b":"hello world"},{"a":"2"},{"c":"+"},{"empty":""},{"flag":""}]"#)
        }
    }

    @Test func pathIsPercentDecodedWithoutQuery() async throws {
        try await withServer { server in
            let reply = try await onThread { try RawHTTPClient(port: server.port).get("/pa%74h?x=1") }
            #expect(reply.text == #""/path""#)
        }
    }

    @Test func headersAreCaseInsensitive() async throws {
        try await withServer { server in
            let reply = try await onThread { try RawHTTPClient(port: server.port).get("/header", headers: [("x-TeSt", "yes")]) }
            #expect(reply.text == #""yes""#)
        }
    }

    @Test func bodySplitAcrossManyWritesArrivesWhole() async throws {
        try await withServer { server in
            let body = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let reply = try await onThread {
                let client = try RawHTTPClient(port: server.port)
                try client.send(RawHTTPClient.head("POST", "/echo", headers: [], contentLength: body.count))
                for start in stride(from: 0, to: body.count, by: 500) {
                    try client.send(Array(body[start..<min(start + 500, body.count)]))
                    usleep(500)
                }
                return try client.readReply()
            }
            #expect(reply.status == 200)
            #expect(reply.body == body)
        }
    }

    @Test func largeBodiesAreSentWholeWhetherStreamedOrCopied() async throws {
        try await withServer(ServerConfiguration(maxBodyBytes: 4 << 20)) { server in
            // Around the size at which a body is streamed instead of copied, and well past it.
            for count in [1_000, 256 * 1024, 256 * 1024 + 1, 3_000_001] {
                let body = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
                let reply = try await onThread {
                    let client = try RawHTTPClient(port: server.port)
                    try client.send(RawHTTPClient.head("POST", "/echo", headers: [], contentLength: body.count))
                    try client.send(body)
                    return try client.readReply()
                }
                #expect(reply.status == 200)
                #expect(reply.body.count == count)
                #expect(reply.body == body, "\(count) bytes")
            }
        }
    }

    @Test func chunkedUploadArrivesWhole() async throws {
        try await withServer { server in
            let reply = try await onThread {
                let client = try RawHTTPClient(port: server.port)
                try client.send(RawHTTPClient.head("POST", "/echo", headers: [("Transfer-Encoding", "chunked")], contentLength: nil))
                for piece in ["hello ", "chunked ", "world"] {
                    try client.send(String(piece.utf8.count, radix: 16) + "\r\n" + piece + "\r\n")
                    usleep(1000)
                }
                try client.send("0\r\n\r\n")
                return try client.readReply()
            }
            #expect(reply.text == "hello chunked world")
        }
    }

    @Test func contentLengthOverLimitIs413BeforeTheBodyIsSent() async throws {
        try await withServer(ServerConfiguration(maxBodyBytes: 1000)) { server in
            let (reply, closed) = try await onThread {
                let client = try RawHTTPClient(port: server.port)
                // Only the head goes out: the answer must come without the body ever being sent.
                try client.send(RawHTTPClient.head("POST", "/echo", headers: [], contentLength: 1001))
                return (try client.readReply(), client.isClosedByPeer())
            }
            #expect(reply.status == 413)
            #expect(reply.text == #"{"error":"request body is larger than the limit of 1000 bytes","status":413}"#)
            #expect(closed)
            #expect(server.refusals.tooLargeByPath.values.reduce(0, +) == 1)
        }
    }

    @Test func contentLengthAtTheLimitIsAccepted() async throws {
        try await withServer(ServerConfiguration(maxBodyBytes: 1000)) { server in
            let body = [UInt8](repeating: 65, count: 1000)
            let reply = try await onThread { try RawHTTPClient(port: server.port).request("POST", "/echo", body: body) }
            #expect(reply.status == 200)
            #expect(reply.body.count == 1000)
        }
    }

    /// Framing RFC 9112 allows still passes: one length sent twice, chunked alone, HTTP/1.0 without Host.
    @Test func unambiguousFramingIsServed() async throws {
        try await withServer { server in
            let replies = try await onThread { () throws -> [HTTPReply] in
                try [
                    "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
                    "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
                    "GET /hello HTTP/1.0\r\n\r\n",
                ].map { head in
                    let client = try RawHTTPClient(port: server.port)
                    try client.send(head)
                    return try client.readReply()
                }
            }
            #expect(replies.map(\.status) == [200, 200, 200])
            #expect(replies[0].text == "hi" && replies[1].text == "hi")
            #expect(server.refusals.framing.isEmpty)
        }
    }

    /// A streaming route has a limit of its own, above the server's, and sees its body in pieces.
    @Test func aStreamingRouteReadsPastTheServerLimitUpToItsOwn() async throws {
        try await withServer(ServerConfiguration(maxBodyBytes: 1000)) { server in
            let (fits, over) = try await onThread {
                (try RawHTTPClient(port: server.port).request("POST", "/stream", body: [UInt8](repeating: 65, count: 4000)),
                 try RawHTTPClient(port: server.port).request("POST", "/stream", body: [UInt8](repeating: 65, count: 5001)))
            }
            #expect(fits.status == 200)
            #expect(fits.text.hasPrefix("4000 bytes in "), "\(fits.text)")
            #expect(over.status == 413)
            #expect(over.text.contains("larger than the limit of 5000 bytes"))
            #expect(server.refusals.tooLargeByPath == ["/stream": 1])
        }
    }

    @Test func chunkedUploadOverLimitIs413() async throws {
        try await withServer(ServerConfiguration(maxBodyBytes: 1000)) { server in
            let reply = try await onThread {
                let client = try RawHTTPClient(port: server.port)
                try client.send(RawHTTPClient.head("POST", "/echo", headers: [("Transfer-Encoding", "chunked")], contentLength: nil))
                let piece = String(repeating: "x", count: 400)
                for _ in 0..<5 { try client.send("190\r\n" + piece + "\r\n") }
                try client.send("0\r\n\r\n")
                return try client.readReply()
            }
            #expect(reply.status == 413)
            #expect(reply.text.contains("larger than the limit of 1000 bytes"))
            #expect(server.refusals.tooLargeByPath.values.reduce(0, +) == 1)
        }
    }

    @Test func ipv6LoopbackBind() async throws {
        try await withServer(ServerConfiguration(host: "::1")) { server in
            let reply = try await onThread { try RawHTTPClient(host: "::1", port: server.port).get("/hello") }
            #expect(reply.status == 200)
        }
    }

    @Test func ipv6WildcardAlsoAcceptsIPv4() async throws {
        try await withServer(ServerConfiguration(host: "::")) { server in
            let replies = try await onThread {
                [try RawHTTPClient(host: "::1", port: server.port).get("/hello").status,
                 try RawHTTPClient(host: "127.0.0.1", port: server.port).get("/hello").status]
            }
            #expect(replies == [200, 200])
        }
    }

    @Test func connectionsOverTheLimitWaitUntilOneCloses() async throws {
        try await withServer(ServerConfiguration(threads: 1, connectionLimit: 2)) { server in
            let (kept, waiting, servedLater) = try await onThread {
                let first = try RawHTTPClient(port: server.port), second = try RawHTTPClient(port: server.port)
                let kept = [try first.get("/hello").status, try second.get("/hello").status]
                // At the limit libmicrohttpd stops accepting: the third waits in the listen backlog.
                let third = try RawHTTPClient(port: server.port, timeoutSeconds: 1)
                try third.send(RawHTTPClient.head("GET", "/hello", headers: [], contentLength: nil))
                let waiting = (try? third.readReply()) == nil
                first.close()
                return (kept, waiting, try third.readReply().status)
            }
            #expect(kept == [200, 200])
            #expect(waiting, "a connection over the limit must not be served")
            #expect(servedLater == 200)
        }
    }

    @Test func idleConnectionsTimeOut() async throws {
        try await withServer(ServerConfiguration(connectionTimeoutSeconds: 1)) { server in
            let closed = try await onThread {
                let client = try RawHTTPClient(port: server.port)
                _ = try client.get("/hello")
                return client.isClosedByPeer(waitingMilliseconds: 4000)
            }
            #expect(closed)
        }
    }

    @Test func stopWithOpenConnectionsFinishesRequestsInFlight() async throws {
        try await withServer { server in
            let port = server.port
            let idle = try await onThreads(10) { _ in
                let client = try RawHTTPClient(port: port)
                _ = try client.get("/hello")
                return client
            }
            async let slow = onThread { try RawHTTPClient(port: port).get("/slow") }
            try await waitUntilInFlight(server)
            let clock = ContinuousClock()
            let took = await clock.measure { await server.shutdown(gracePeriod: .seconds(2)) }
            let reply = try await slow
            #expect(reply.status == 200)
            #expect(reply.text == #""slow""#)
            #expect(took < .seconds(2))
            #expect(idle.allSatisfy { $0.isClosedByPeer(waitingMilliseconds: 1000) })
            #expect(server.requestsInFlight == 0)
        }
    }

    @Test func stopAnswers503ToHandlersThatDoNotFinish() async throws {
        try await withServer { server in
            let port = server.port
            async let never = onThread { try RawHTTPClient(port: port).get("/never") }
            try await waitUntilInFlight(server)
            let clock = ContinuousClock()
            let took = await clock.measure { await server.shutdown(gracePeriod: .milliseconds(200)) }
            let reply = try await never
            #expect(reply.status == 503)
            #expect(reply.text == #"{"error":"server is shutting down","status":503}"#)
            #expect(took < .seconds(5), "the stop must not wait for the handler's 30 s")
        }
    }

    /// While a stop waits for a request in flight, a new connection is closed at once (the
    /// accept policy), not left in the backlog until the stop ends. The stop does not use
    /// MHD_quiesce_daemon, whose epoll race aborted a test run.
    @Test func newRequestsDuringTheGracePeriodAreAnswered503AtOnce() async throws {
        try await withServer { server in
            let port = server.port
            async let never = onThread { try RawHTTPClient(port: port).get("/never") }
            try await waitUntilInFlight(server)
            async let stopping: Void = server.shutdown(gracePeriod: .seconds(2))
            try await Task.sleep(for: .milliseconds(200))
            let clock = ContinuousClock()
            var outcome = "answered"
            let took = try await clock.measure {
                outcome = try await onThread { () -> String in
                    guard let late = try? RawHTTPClient(port: port, timeoutSeconds: 5) else { return "refused" }
                    return (try? late.get("/hello")).map { "answered \($0.status) \($0.header("Retry-After") ?? "-") \($0.header("Connection") ?? "-")" } ?? "closed"
                }
            }
            await stopping
            #expect((try await never).status == 503)
            #expect(outcome == "answered 503 5 close", "a new connection during the stop: \(outcome)")
            #expect(took < .seconds(1), "answered at once, not after the 2 s grace period: \(took)")
        }
    }

    @Test func newConnectionsAreRefusedAfterStop() async throws {
        // The server answers its own identity, so that a server of another test that happens to
        // take the freed port right away is told apart from this one still listening.
        let identity = UUID().uuidString
        var router = Router()
        router.get("/identity") { _ in .json(JSONString.quoted(identity)) }
        let server = HTTPServer(configuration: ServerConfiguration(), router: router, logger: Logger(label: "test"))
        try server.start()
        let port = server.port
        let before = try? await onThread { try RawHTTPClient(port: port).get("/identity").text }
        await server.shutdown()
        #expect(before == JSONString.quoted(identity))
        let after = try await onThread { try? RawHTTPClient(port: port).get("/identity").text }
        #expect(after != JSONString.quoted(identity), "the stopped server still answered")
    }
}

/// Answers how many bytes its body had and in how many pieces they came.
final class PieceCounter: BodyConsumer {
    var bytes = 0, pieces = 0

    func consume(_ piece: UnsafeRawBufferPointer) {
        bytes += piece.count
        pieces += 1
    }

    func finish() -> BodyReply {
        .now(.json(#"\#(bytes) bytes in \#(pieces) pieces"#))
    }
}
