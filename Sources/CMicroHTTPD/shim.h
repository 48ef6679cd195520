// Swift cannot call C variadic functions. This header wraps the few variadic
// libmicrohttpd calls perfmond needs in static inline functions with fixed
// signatures; everything else is used directly from Swift.
#ifndef PERFMOND_CMICROHTTPD_SHIM_H
#define PERFMOND_CMICROHTTPD_SHIM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <poll.h>
#include <microhttpd.h>

#ifndef POLLRDHUP
#define POLLRDHUP 0x2000 /* Linux: the peer closed its end (needs _GNU_SOURCE to be declared) */
#endif

/// poll(2)'s "peer closed" event, which Swift's Glibc module does not export.
static inline short cmhd_poll_peer_closed(void) { return POLLRDHUP; }

/// The object a connection notification stored for the connection (its socket context), or NULL.
static inline void *cmhd_connection_context(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info == NULL ? NULL : info->socket_context;
}

/// The socket of a connection, or -1.
static inline int cmhd_connection_fd(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info == NULL ? -1 : info->connect_fd;
}

/// Receives one formatted libmicrohttpd log line.
typedef void (*cmhd_log_sink)(void *cls, const char *message);

/// Where libmicrohttpd's error log goes; must outlive the daemon.
typedef struct cmhd_log_target {
    cmhd_log_sink sink;
    void *cls;
} cmhd_log_target;

static inline void cmhd_format_log(void *cls, const char *format, va_list arguments) {
    cmhd_log_target *target = (cmhd_log_target *)cls;
    char line[512];
    vsnprintf(line, sizeof line, format, arguments);
    target->sink(target->cls, line);
}

/// Everything needed to start a daemon, in one fixed-layout struct.
typedef struct cmhd_settings {
    unsigned int flags;
    const struct sockaddr *bind_address; /* required; its port is used */
    unsigned int thread_pool_size;       /* 0 or 1: the single internal polling thread */
    unsigned int connection_limit;
    unsigned int connection_timeout_seconds;
    size_t connection_memory_limit;      /* 0: libmicrohttpd's default */
    MHD_AccessHandlerCallback access_handler;
    MHD_RequestCompletedCallback request_completed;
    MHD_NotifyConnectionCallback notify_connection; /* connections opened and closed, with cls */
    void *(*uri_log)(void *cls, const char *uri, struct MHD_Connection *connection); /* each request target, before it is parsed */
    void *cls;
    cmhd_log_target *log_target;         /* required */
    const char *tls_key_pem;             /* both NULL: plain HTTP */
    const char *tls_cert_pem;
} cmhd_settings;

static inline struct MHD_Daemon *cmhd_start_daemon(const cmhd_settings *s) {
    struct MHD_OptionItem options[14];
    int n = 0;
    options[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, (void *)s->bind_address };
    options[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, (intptr_t)s->connection_limit, NULL };
    options[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)s->connection_timeout_seconds, NULL };
    options[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)s->request_completed, s->cls };
    options[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)s->notify_connection, s->cls };
    options[n++] = (struct MHD_OptionItem){ MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)s->uri_log, s->cls };
    if (s->thread_pool_size > 1) {
        options[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)s->thread_pool_size, NULL };
    }
    if (s->connection_memory_limit > 0) {
        options[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)s->connection_memory_limit, NULL };
    }
    if (s->tls_key_pem != NULL && s->tls_cert_pem != NULL) {
        options[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)s->tls_key_pem };
        options[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)s->tls_cert_pem };
    }
    options[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
    /* libmicrohttpd wants the logger as the very first option, ahead of the array. */
    return MHD_start_daemon(s->flags, 0, NULL, NULL, s->access_handler, s->cls,
                            MHD_OPTION_EXTERNAL_LOGGER, &cmhd_format_log, s->log_target,
                            MHD_OPTION_ARRAY, options, MHD_OPTION_END);
}

/// The port the daemon's listening socket is bound to (the real one when 0 was asked for).
static inline uint16_t cmhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

#endif
