#ifndef CCURL_H
#define CCURL_H

#include <stddef.h>

/// One POST with libcurl, for remote write: libcurl's options are variadic C, which Swift cannot
/// call, so this file is the one place that sets them. A handle keeps its connection alive from
/// one request to the next.
typedef struct ccurl_handle ccurl_handle;

typedef struct {
    /// The HTTP status, 0 when no answer came (see `error`).
    long status;
    /// Seconds of a Retry-After header, or -1.
    long retry_after_seconds;
    /// libcurl's message when the request failed before an answer.
    char error[256];
    /// The start of the answer's body (a receiver's reason for a 4xx).
    char body[512];
    size_t body_length;
} ccurl_result;

typedef struct {
    const char *url;
    const void *body;
    size_t length;
    /// Extra header lines ("Name: value").
    const char *const *headers;
    int header_count;
    /// Basic auth, or NULL.
    const char *user;
    const char *password;
    /// A CA bundle to verify the server with, or NULL for the system's.
    const char *ca_file;
    int verify_tls;
    long timeout_ms;
} ccurl_request;

ccurl_handle *ccurl_new(void);
void ccurl_free(ccurl_handle *handle);
/// 0 when an answer came (whatever its status), else libcurl's error code.
int ccurl_post(ccurl_handle *handle, const ccurl_request *request, ccurl_result *result);

#endif
