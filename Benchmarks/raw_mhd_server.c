/* The baseline for `make bench`: the smallest libmicrohttpd server that answers GET /health and
 * POST /events with the same bytes perfmond sends (the POST body is read and thrown away), using
 * the same threading (internal epoll thread pool, one thread per core) and answering after the
 * upload completes, as perfmond does. It prints its port. */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static enum MHD_Result answer(void *cls, struct MHD_Connection *connection, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **state) {
    static int marker;
    (void)cls; (void)method; (void)version; (void)upload_data;
    if (*state == NULL) { *state = &marker; return MHD_YES; }
    if (*upload_data_size > 0) { *upload_data_size = 0; return MHD_YES; }
    char body[96];
    int length;
    unsigned int status;
    if (strcmp(url, "/events") == 0) {
        length = snprintf(body, sizeof body, "{\"accepted\":1,\"rejected\":0,\"errors\":[]}");
        status = MHD_HTTP_ACCEPTED;
    } else {
        struct timeval now;
        gettimeofday(&now, NULL);
        length = snprintf(body, sizeof body, "{\"status\":\"ok\",\"timestamp\":%ld.%06ld}", (long)now.tv_sec, (long)now.tv_usec);
        status = strcmp(url, "/health") == 0 ? MHD_HTTP_OK : MHD_HTTP_NOT_FOUND;
    }
    struct MHD_Response *response = MHD_create_response_from_buffer((size_t)length, body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(response, "Content-Type", "application/json; charset=utf-8");
    enum MHD_Result result = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return result;
}

int main(void) {
    unsigned int cores = (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
    struct MHD_Daemon *daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC, 0, NULL, NULL, &answer, NULL,
        MHD_OPTION_THREAD_POOL_SIZE, cores > 1 ? cores : 0, MHD_OPTION_CONNECTION_LIMIT, 1024,
        MHD_OPTION_CONNECTION_TIMEOUT, 30, MHD_OPTION_END);
    if (daemon == NULL) { fprintf(stderr, "cannot start\n"); return 1; }
    printf("listening port=%u\n", MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT)->port);
    fflush(stdout);
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigprocmask(SIG_BLOCK, &signals, NULL);
    int received;
    sigwait(&signals, &received);
    MHD_stop_daemon(daemon);
    return 0;
}
