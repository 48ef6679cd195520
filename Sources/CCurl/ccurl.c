#include "ccurl.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ccurl_handle {
    CURL *curl;
};

ccurl_handle *ccurl_new(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ccurl_handle *handle = calloc(1, sizeof *handle);
    if (handle == NULL) return NULL;
    handle->curl = curl_easy_init();
    if (handle->curl == NULL) {
        free(handle);
        return NULL;
    }
    return handle;
}

void ccurl_free(ccurl_handle *handle) {
    if (handle == NULL) return;
    curl_easy_cleanup(handle->curl);
    free(handle);
}

static size_t keep_body(char *data, size_t size, size_t count, void *context) {
    ccurl_result *result = context;
    size_t bytes = size * count;
    size_t room = sizeof result->body - 1 - result->body_length;
    size_t taken = bytes < room ? bytes : room;
    memcpy(result->body + result->body_length, data, taken);
    result->body_length += taken;
    result->body[result->body_length] = 0;
    return bytes;
}

static size_t read_header(char *data, size_t size, size_t count, void *context) {
    ccurl_result *result = context;
    size_t bytes = size * count;
    static const char name[] = "retry-after:";
    if (bytes > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        char value[32] = {0};
        size_t length = bytes - (sizeof name - 1);
        if (length > sizeof value - 1) length = sizeof value - 1;
        memcpy(value, data + sizeof name - 1, length);
        char *end = NULL;
        long seconds = strtol(value, &end, 10);
        if (end != value && seconds >= 0) result->retry_after_seconds = seconds;
    }
    return bytes;
}

int ccurl_post(ccurl_handle *handle, const ccurl_request *request, ccurl_result *result) {
    CURL *curl = handle->curl;
    memset(result, 0, sizeof *result);
    result->retry_after_seconds = -1;
    curl_easy_reset(curl);
    struct curl_slist *headers = NULL;
    for (int index = 0; index < request->header_count; index++) headers = curl_slist_append(headers, request->headers[index]);
    curl_easy_setopt(curl, CURLOPT_URL, request->url);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request->body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request->length);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, request->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, result);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, read_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, result);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, result->error);
    if (request->user != NULL) {
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(curl, CURLOPT_USERNAME, request->user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, request->password != NULL ? request->password : "");
    }
    if (request->ca_file != NULL) curl_easy_setopt(curl, CURLOPT_CAINFO, request->ca_file);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, request->verify_tls ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, request->verify_tls ? 2L : 0L);
    CURLcode code = curl_easy_perform(curl);
    if (code == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result->status);
    } else if (result->error[0] == 0) {
        strncpy(result->error, curl_easy_strerror(code), sizeof result->error - 1);
    }
    curl_slist_free_all(headers);
    return (int)code;
}
