/* make bench: sends StatsD lines, 20 to a datagram (or a TCP stream of the same lines), for a
   number of seconds, as fast as it can or paced to a rate; prints what it sent as JSON.
   Usage: statsd-sender udp|tcp PORT SECONDS [LINES_PER_SECOND, 0 = as fast as possible] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { lines_per_datagram = 20, batch = 32 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Twenty lines as services send them: counters with tags, timers, histograms, a gauge, a set. */
static size_t datagram(char *out, size_t room, unsigned seed) {
    size_t used = 0;
    for (int i = 0; i < lines_per_datagram; i++) {
        unsigned n = seed * 31 + i * 7;
        const char *route = (n % 3 == 0) ? "chat" : (n % 3 == 1) ? "embed" : "search";
        switch (i % 5) {
        case 0: used += snprintf(out + used, room - used, "bench.requests:1|c|#route:%s,tier:a\n", route); break;
        case 1: used += snprintf(out + used, room - used, "bench.latency:%u.%u|ms|#route:%s\n", 50 + n % 900, n % 10, route); break;
        case 2: used += snprintf(out + used, room - used, "bench.size:%u|h\n", 100 + n % 4000); break;
        case 3: used += snprintf(out + used, room - used, "bench.queue:%u|g|#queue:main\n", n % 50); break;
        default: used += snprintf(out + used, room - used, "bench.tokens:%u|c|@0.5|#model:gpt-4o\n", 10 + n % 500); break;
        }
    }
    return used - 1; /* no newline after the last line of a datagram */
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s udp|tcp PORT SECONDS [LINES_PER_SECOND]\n", argv[0]); return 2; }
    int tcp = strcmp(argv[1], "tcp") == 0;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    double seconds = atof(argv[3]), rate = argc > 4 ? atof(argv[4]) : 0;
    int fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0) { perror("connect"); return 1; }

    static char payloads[batch][2048];
    struct mmsghdr messages[batch];
    struct iovec vectors[batch];
    memset(messages, 0, sizeof messages);
    for (int i = 0; i < batch; i++) {
        size_t length = datagram(payloads[i], sizeof payloads[i], i);
        if (tcp) payloads[i][length++] = '\n';
        vectors[i].iov_base = payloads[i];
        vectors[i].iov_len = length;
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    long long sent = 0;
    double start = now(), end = start + seconds;
    while (now() < end) {
        if (tcp) {
            for (int i = 0; i < batch; i++) {
                if (send(fd, vectors[i].iov_base, vectors[i].iov_len, MSG_NOSIGNAL) != (ssize_t)vectors[i].iov_len) { perror("send"); goto done; }
            }
            sent += (long long)batch * lines_per_datagram;
        } else {
            int count = sendmmsg(fd, messages, batch, 0);
            if (count > 0) sent += (long long)count * lines_per_datagram;
        }
        if (rate > 0) { /* paced: wait until the lines sent so far are due */
            double due = start + sent / rate;
            while (now() < due) usleep(50);
        }
    }
done:
    close(fd);
    printf("{\"lines_sent\": %lld, \"seconds\": %.3f}\n", sent, now() - start);
    return 0;
}
