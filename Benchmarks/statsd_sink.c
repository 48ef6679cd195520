/* make bench: the floor for the StatsD listener, a raw socket that only counts lines: UDP read
   with recvmmsg into the same receive buffer perfmond asks for (8 MiB), or one TCP stream. Prints
   "listening port=N", then, on SIGTERM, {"lines": N, "drops": N} (drops: the kernel's, SO_RXQ_OVFL).
   Usage: statsd-sink udp|tcp */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { batch = 64, slot = 65536 };
static volatile sig_atomic_t stopping = 0;
static void stop(int signal) { (void)signal; stopping = 1; }

static long long lines_in(const char *bytes, size_t length) {
    long long lines = 0;
    for (size_t i = 0; i < length; i++) lines += bytes[i] == '\n';
    return lines + (length > 0 && bytes[length - 1] != '\n');
}

int main(int argc, char **argv) {
    int tcp = argc > 1 && strcmp(argv[1], "tcp") == 0;
    signal(SIGTERM, stop);
    int fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    struct sockaddr_in at = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &at.sin_addr);
    int size = 8 << 20, on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(fd, (struct sockaddr *)&at, sizeof at) != 0) { perror("bind"); return 1; }
    socklen_t length = sizeof at;
    getsockname(fd, (struct sockaddr *)&at, &length);
    if (tcp) listen(fd, 16);
    printf("listening port=%d\n", ntohs(at.sin_port));
    fflush(stdout);

    static char buffers[batch][slot];
    long long lines = 0;
    unsigned drops = 0;
    if (tcp) {
        int connection = -1;
        while (!stopping && connection < 0) {
            struct pollfd wait = {.fd = fd, .events = POLLIN};
            if (poll(&wait, 1, 100) > 0) connection = accept(fd, NULL, NULL);
        }
        char previous = '\n';
        while (!stopping && connection >= 0) {
            ssize_t count = recv(connection, buffers[0], slot, 0);
            if (count <= 0) break;
            for (ssize_t i = 0; i < count; i++) lines += buffers[0][i] == '\n';
            previous = buffers[0][count - 1];
        }
        (void)previous;
    } else {
        struct mmsghdr messages[batch];
        struct iovec vectors[batch];
        union { char bytes[CMSG_SPACE(sizeof(unsigned))]; struct cmsghdr align; } controls[batch];
        while (!stopping) {
            struct pollfd wait = {.fd = fd, .events = POLLIN};
            if (poll(&wait, 1, 100) <= 0) continue;
            memset(messages, 0, sizeof messages);
            for (int i = 0; i < batch; i++) {
                vectors[i].iov_base = buffers[i];
                vectors[i].iov_len = slot;
                messages[i].msg_hdr.msg_iov = &vectors[i];
                messages[i].msg_hdr.msg_iovlen = 1;
                messages[i].msg_hdr.msg_control = controls[i].bytes;
                messages[i].msg_hdr.msg_controllen = sizeof controls[i].bytes;
            }
            int received = recvmmsg(fd, messages, batch, MSG_DONTWAIT, NULL);
            for (int i = 0; i < received; i++) {
                lines += lines_in(buffers[i], messages[i].msg_len);
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&messages[i].msg_hdr); c; c = CMSG_NXTHDR(&messages[i].msg_hdr, c))
                    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) memcpy(&drops, CMSG_DATA(c), sizeof drops);
            }
        }
    }
    printf("{\"lines\": %lld, \"drops\": %u}\n", lines, drops);
    return 0;
}
