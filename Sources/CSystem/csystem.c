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
