#define _GNU_SOURCE 1
#include "csystem.h"
#include <malloc.h>

size_t csystem_heap_in_use(void) {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

void csystem_fix_mmap_threshold(size_t bytes) {
    mallopt(M_MMAP_THRESHOLD, (int)bytes);
    /* Fixing the mmap threshold stops glibc moving the trim threshold too: keep it at twice the
       mmap threshold, as glibc's own adjustment would, or every free at the heap's top is a trim. */
    mallopt(M_TRIM_THRESHOLD, (int)(2 * bytes));
}

#include <sys/socket.h>
#include <errno.h>
#include <string.h>

int csystem_receive_datagrams(int fd, unsigned char *buffer, size_t slot, unsigned count,
                              size_t *lengths, unsigned char *truncated, unsigned *kernel_drops) {
    enum { max_batch = 64 };
    struct mmsghdr messages[max_batch];
    struct iovec vectors[max_batch];
    /* Room for one SO_RXQ_OVFL message (a u32) per datagram. */
    union { char bytes[CMSG_SPACE(sizeof(unsigned))]; struct cmsghdr align; } controls[max_batch];
    if (count > max_batch) count = max_batch;
    memset(messages, 0, sizeof(struct mmsghdr) * count);
    for (unsigned i = 0; i < count; i++) {
        vectors[i].iov_base = buffer + (size_t)i * slot;
        vectors[i].iov_len = slot;
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_control = controls[i].bytes;
        messages[i].msg_hdr.msg_controllen = sizeof(controls[i].bytes);
    }
    int received = recvmmsg(fd, messages, count, MSG_DONTWAIT, NULL);
    if (received < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    for (int i = 0; i < received; i++) {
        lengths[i] = messages[i].msg_len;
        truncated[i] = (messages[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&messages[i].msg_hdr); c; c = CMSG_NXTHDR(&messages[i].msg_hdr, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) memcpy(kernel_drops, CMSG_DATA(c), sizeof(unsigned));
        }
    }
    return received;
}

long csystem_set_receive_buffer(int fd, long bytes) {
    int request = bytes > 0x3fffffff ? 0x3fffffff : (int)bytes;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &request, sizeof request) != 0
        && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &request, sizeof request) != 0) return -1;
    int granted = 0;
    socklen_t size = sizeof granted;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &size) != 0) return -1;
    return granted;
}
