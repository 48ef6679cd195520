// System facts Swift's Glibc module does not expose.
#ifndef PERFMOND_CSYSTEM_H
#define PERFMOND_CSYSTEM_H
#include <stddef.h>

/// Bytes allocated with malloc and still in use (glibc mallinfo2: uordblks + hblkhd).
size_t csystem_heap_in_use(void);

/// Fixes glibc's mmap threshold (which also stops it from moving it up as large blocks are freed),
/// and its trim threshold at twice that.
void csystem_fix_mmap_threshold(size_t bytes);

#endif
