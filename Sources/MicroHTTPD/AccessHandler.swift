import CMicroHTTPD

/// One request's state across libmicrohttpd's calls of the access handler. It lives in the
/// connection's `*con_cls`, retained there, and is released when the request completes; a
/// connection is served by one thread at a time, so it needs no lock.
final class RequestState {
    let method: String
    let path: String
    let query: [(name: String, value: String)]
    let headers: HTTPHeaders
    var body: [UInt8] = []
    /// The body limit: the route's, for a streaming route, else the server's.
    var maxBodyBytes = 0
    /// Body bytes received so far.
    var received = 0
    /// A streaming route's reader of the body, which then is not kept here.
    var consumer: (any BodyConsumer)?
    /// More body arrived than the limit allows: the rest is discarded and the answer is `413`.
    var bodyTooLarge = false
    /// The router's admission refused the request: this is the answer, whatever the body.
    var refusal: Response?
    var pending: PendingResponse?

    init(method: String, path: String, connection: OpaquePointer) {
        self.method = method
        self.path = path
        self.query = collectValues(connection, kind: .GET_ARGUMENT_KIND)
        self.headers = HTTPHeaders(collectValues(connection, kind: .HEADER_KIND))
    }

    var request: Request {
        Request(method: method, path: path, query: query, headers: headers, body: body)
    }
}

/// libmicrohttpd calls this at least twice per request: once when the headers are in, once per
/// piece of body, and once more when the upload is complete. We answer only on that last call,
/// which keeps the connection alive; an early answer (the `413`) makes it close.
let accessHandler: MHD_AccessHandlerCallback = { cls, connection, url, method, version, uploadData, uploadSize, stateSlot in
    guard let cls, let connection, let stateSlot, let uploadSize else { return .NO }
    let context = Unmanaged<ConnectionContext>.fromOpaque(cls).takeUnretainedValue()

    guard let raw = stateSlot.pointee else {
        let state = RequestState(
            method: method.map { String(cString: $0) } ?? "GET",
            path: url.map { String(cString: $0) } ?? "/",
            connection: connection)
        stateSlot.pointee = Unmanaged.passRetained(state).toOpaque()
        context.inFlight.add(1, ordering: .relaxed)
        trackedConnection(connection)?.requestStarted()
        if context.isClosing {
            // A request that starts once a stop has begun: told at once, and when to come back.
            state.refusal = .stopping
            return queue(.stopping, on: connection, context)
        }
        if let problem = RequestFraming.problem(version: version.map { String(cString: $0) } ?? "", headers: state.headers,
                                                queryParameters: state.query.count) {
            state.refusal = problem.response
            context.countFramingRefusal(problem)
            return queue(problem.response, on: connection, context)
        }
        if let admission = context.router.admission, let refusal = admission(state.method, state.path, state.headers) {
            state.refusal = refusal
            return queue(refusal, on: connection, context)
        }
        var stream: BodyStream?
        if case let .handler(.streaming(found)) = context.router.match(method: state.method, path: state.path) { stream = found }
        state.maxBodyBytes = stream?.maxBodyBytes ?? context.maxBodyBytes
        if let length = state.headers["Content-Length"].flatMap(Int.init), length > state.maxBodyBytes {
            state.bodyTooLarge = true
            context.countTooLarge(state.path)
            return queue(.payloadTooLarge(limit: state.maxBodyBytes), on: connection, context)
        }
        state.consumer = stream?.start(state.request)
        return .YES
    }
    let state = Unmanaged<RequestState>.fromOpaque(raw).takeUnretainedValue()

    if uploadSize.pointee > 0 {
        let count = uploadSize.pointee
        uploadSize.pointee = 0
        if !state.bodyTooLarge, state.refusal == nil, let uploadData {
            state.received += count
            if state.received > state.maxBodyBytes {
                state.bodyTooLarge = true
                state.body = []
                state.consumer = nil
            } else if let consumer = state.consumer {
                consumer.consume(UnsafeRawBufferPointer(start: uploadData, count: count))
            } else {
                state.body.append(contentsOf: UnsafeRawBufferPointer(start: uploadData, count: count))
            }
        }
        return .YES
    }

    if let refusal = state.refusal {
        return queue(refusal, on: connection, context)
    }
    if let pending = state.pending {
        return queue(pending.response ?? .error(500, "no response"), on: connection, context)
    }
    if state.bodyTooLarge {
        context.countTooLarge(state.path)
        return queue(.payloadTooLarge(limit: state.maxBodyBytes), on: connection, context)
    }
    if let consumer = state.consumer {
        state.consumer = nil
        switch consumer.finish() {
        case let .now(response): return queue(response, on: connection, context)
        case let .later(respond): return suspend(connection, state, context, respond)
        }
    }
    let match = context.router.match(method: state.method, path: state.path)
    guard case let .handler(handler) = match else {
        return queue(Router.answer(match, method: state.method, path: state.path), on: connection, context)
    }
    switch handler {
    case let .sync(handle):
        return queue(handle(state.request), on: connection, context)
    case let .async(handle):
        let request = state.request
        return suspend(connection, state, context) { await handle(request) }
    case .streaming:
        // Its consumer was made with the headers; only a request refused then comes here.
        return queue(.error(500, "streaming route without its body reader"), on: connection, context)
    }
}

/// Suspends the connection until `respond` has the answer; libmicrohttpd then calls the access
/// handler again, which queues it (`state.pending`).
private func suspend(_ connection: OpaquePointer, _ state: RequestState, _ context: ConnectionContext,
                     _ respond: @escaping @Sendable () async -> Response) -> MHD_Result {
    let pending = PendingResponse(connection: ConnectionHandle(pointer: connection))
    state.pending = pending
    context.track(pending)
    MHD_suspend_connection(connection)
    Task {
        let response = await respond()
        pending.complete(with: response, context: context)
    }
    return .YES
}


/// Releases the request's state; called once per request, however it ended.
let requestCompleted: MHD_RequestCompletedCallback = { cls, connection, stateSlot, _ in
    guard let cls, let stateSlot, let raw = stateSlot.pointee else { return }
    Unmanaged<RequestState>.fromOpaque(raw).release()
    stateSlot.pointee = nil
    let context = Unmanaged<ConnectionContext>.fromOpaque(cls).takeUnretainedValue()
    context.inFlight.subtract(1, ordering: .relaxed)
    if let connection { trackedConnection(connection)?.requestEnded() }
}

/// Connections opened and closed, for the `ConnectionGuard` (closed: before the socket is). The
/// tracked connection is retained in libmicrohttpd's socket context until the close.
let connectionNotified: MHD_NotifyConnectionCallback = { cls, connection, socketContext, code in
    guard let cls, let connection, let socketContext else { return }
    let connectionGuard = Unmanaged<ConnectionContext>.fromOpaque(cls).takeUnretainedValue().connectionGuard
    if code == .CONNECTION_NOTIFY_STARTED {
        let tracked = ConnectionGuard.Connection(fd: cmhd_connection_fd(connection))
        socketContext.pointee = Unmanaged.passRetained(tracked).toOpaque()
        connectionGuard.opened(tracked)
    } else if let raw = socketContext.pointee {
        let tracked = Unmanaged<ConnectionGuard.Connection>.fromOpaque(raw)
        connectionGuard.closedByServer(tracked.takeUnretainedValue())
        tracked.release()
        socketContext.pointee = nil
    }
}

/// libmicrohttpd hands the URI log the request target before it parses the query into the
/// connection's memory pool. A target with more parameters than any request may have marks its
/// connection: if the pool runs out, libmicrohttpd answers nothing and the guard shuts it down;
/// if not, the access handler refuses it with `431`. Leaves the request's `*con_cls` empty.
let requestTargetSeen: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, OpaquePointer?) -> UnsafeMutableRawPointer? = {
    _, target, connection in
    if let target, let connection, RequestFraming.queryParameterCount(target) > RequestFraming.maxQueryParameters {
        trackedConnection(connection)?.markTooManyQueryParameters()
    }
    return nil
}

private func trackedConnection(_ connection: OpaquePointer) -> ConnectionGuard.Connection? {
    cmhd_connection_context(connection).map { Unmanaged<ConnectionGuard.Connection>.fromOpaque($0).takeUnretainedValue() }
}

/// Queues the answer; once the server is stopping, with `Connection: close`, so that keep-alive
/// clients go away instead of keeping requests in flight through the whole grace period.
private func queue(_ response: Response, on connection: OpaquePointer, _ context: ConnectionContext) -> MHD_Result {
    var response = response
    if context.isClosing, response.headers["Connection"] == nil { response.headers.add(name: "Connection", value: "close") }
    let mhdResponse: OpaquePointer?
    if let stream = response.stream {
        mhdResponse = stream.response(on: connection, untrack: { [weak stream] in if let stream { context.untrack(stream) } })
        if mhdResponse != nil { context.track(stream) }
    } else if response.body.count > StreamedBody.threshold {
        mhdResponse = StreamedBody.response(response.body)
    } else {
        mhdResponse = response.body.withUnsafeBytes { bytes in
            MHD_create_response_from_buffer(bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress), .RESPMEM_MUST_COPY)
        }
    }
    guard let mhdResponse else { return .NO }
    defer { MHD_destroy_response(mhdResponse) }
    for field in response.headers {
        _ = MHD_add_response_header(mhdResponse, field.name, field.value)
    }
    return MHD_queue_response(connection, UInt32(response.status), mhdResponse)
}

private func collectValues(_ connection: OpaquePointer, kind: MHD_ValueKind) -> [(name: String, value: String)] {
    var values: [(name: String, value: String)] = []
    withUnsafeMutablePointer(to: &values) { pointer in
        _ = MHD_get_connection_values(connection, kind, { cls, _, key, value in
            guard let cls, let key else { return .YES }
            let values = cls.assumingMemoryBound(to: [(name: String, value: String)].self)
            values.pointee.append((String(cString: key), value.map { String(cString: $0) } ?? ""))
            return .YES
        }, pointer)
    }
    return values
}

extension Response {
    /// The answer to a request that starts during a stop (`Connection: close` is added by `queue`).
    static var stopping: Response {
        var response = Response.error(503, "server is shutting down; retry against another instance or after restart")
        response.headers.add(name: "Retry-After", value: "5")
        return response
    }

    static func payloadTooLarge(limit: Int) -> Response {
        var response = Response.error(413, "request body is larger than the limit of \(limit) bytes")
        response.headers.add(name: "Connection", value: "close")
        return response
    }
}

/// A large body (a big `/metrics` scrape) is handed to libmicrohttpd piece by piece as it sends,
/// instead of being copied whole into a buffer of its own: that copy of tens of megabytes faulted
/// in a fresh page every 4 KiB.
final class StreamedBody: Sendable {
    static let threshold = 256 * 1024
    let bytes: [UInt8]

    private init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    static func response(_ bytes: [UInt8]) -> OpaquePointer? {
        let body = Unmanaged.passRetained(StreamedBody(bytes)).toOpaque()
        guard let response = MHD_create_response_from_callback(UInt64(bytes.count), 64 * 1024, read, body, free) else {
            Unmanaged<StreamedBody>.fromOpaque(body).release()
            return nil
        }
        return response
    }

    private static let read: MHD_ContentReaderCallback = { cls, position, buffer, capacity in
        guard let cls, let buffer else { return MHD_CONTENT_READER_END_WITH_ERROR }
        let body = Unmanaged<StreamedBody>.fromOpaque(cls).takeUnretainedValue()
        let start = Int(position)
        guard start < body.bytes.count else { return MHD_CONTENT_READER_END_OF_STREAM }
        let count = Swift.min(capacity, body.bytes.count - start)
        body.bytes.withUnsafeBytes { bytes in UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress! + start, byteCount: count) }
        return count
    }

    private static let free: MHD_ContentReaderFreeCallback = { cls in
        if let cls { Unmanaged<StreamedBody>.fromOpaque(cls).release() }
    }
}
