// zlib's deflateInit2 and inflateInit2 are macros, which Swift cannot call: gzip a buffer in one
// C function, and start an inflate stream in another.
#ifndef PERFMOND_CZLIB_SHIM_H
#define PERFMOND_CZLIB_SHIM_H
#include <string.h>
#include <zlib.h>

/// Room enough for the gzip of `length` bytes.
static inline size_t czlib_gzip_bound(size_t length) {
    return compressBound((uLong)length) + 32;
}

/// Gzips `input` into `output` (at least czlib_gzip_bound bytes); the compressed size, or -1.
static inline long czlib_gzip(const unsigned char *input, size_t length, unsigned char *output, size_t capacity, int level) {
    z_stream stream;
    memset(&stream, 0, sizeof stream);
    if (deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
    stream.next_in = (Bytef *)input;
    stream.avail_in = (uInt)length;
    stream.next_out = output;
    stream.avail_out = (uInt)capacity;
    int result = deflate(&stream, Z_FINISH);
    long produced = (long)(capacity - stream.avail_out);
    deflateEnd(&stream);
    return result == Z_STREAM_END ? produced : -1;
}

/// Starts `stream` inflating gzip or zlib data (the header says which: windowBits 15 + 32).
static inline int czlib_inflate_init(z_stream *stream) {
    memset(stream, 0, sizeof *stream);
    return inflateInit2(stream, 15 + 32);
}

#endif
