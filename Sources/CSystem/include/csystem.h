// System facts Swift's Glibc module does not expose.
#ifndef PERFMOND_CSYSTEM_H
#define PERFMOND_CSYSTEM_H
#include <stddef.h>

/// Bytes allocated with malloc and still in use (glibc mallinfo2: uordblks + hblkhd).
size_t csystem_heap_in_use(void);

/// Fixes glibc's mmap threshold (which also stops it from moving it up as large blocks are freed),
/// and its trim threshold at twice that.
void csystem_fix_mmap_threshold(size_t bytes);

/// Receives up to `count` datagrams from the non-blocking UDP socket `fd` in one recvmmsg(2)
/// call, datagram i into `buffer + i * slot` (at most `slot` bytes), its length in `lengths[i]`
/// and whether it was cut short (longer than `slot`) in `truncated[i]`. With SO_RXQ_OVFL set on
/// the socket, `*kernel_drops` is the socket's running count of datagrams the kernel dropped for
/// a full receive buffer, as of the last datagram read (left alone when none was read).
/// Returns the number of datagrams read, 0 when none was waiting, -1 with errno on an error.
int csystem_receive_datagrams(int fd, unsigned char *buffer, size_t slot, unsigned count,
                              size_t *lengths, unsigned char *truncated, unsigned *kernel_drops);

/// Asks the kernel for a receive buffer of `bytes` on `fd`: SO_RCVBUFFORCE (past
/// net.core.rmem_max, needs CAP_NET_ADMIN) first, SO_RCVBUF otherwise. Returns the size the
/// kernel then reports (it doubles the request for its bookkeeping), or -1 with errno.
long csystem_set_receive_buffer(int fd, long bytes);

#endif
