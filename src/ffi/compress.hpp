// Private: streaming compression codecs (ISA-L gzip, zstd) behind the Reader/Writer interfaces.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/compression.hpp"
#include "docker_envs/base/io.hpp"

namespace de::ffi {

// Recognises gzip, zstd and bzip2 by their magic bytes; None when the data starts otherwise.
Compression detect_compression(std::span<const std::byte> head);

struct CompressorOptions {
  // gzip: ISA-L levels 0..3 (1 is fast and close to `igzip -1`); zstd: 1..19 (3 by default).
  int level = -1;  // -1: the codec's default
};

// Compresses everything written into `next` (not owned, must outlive the compressor). close()
// writes the trailer and closes `next`. Output is deterministic: the gzip header carries no name
// and mtime 0 (bytes 1f 8b 08 00 00000000 00 ff); zstd runs single-threaded with a content
// checksum; both codecs are fed fixed 1 MiB chunks, so the output depends on the input bytes and
// level only, not on how the caller split its writes. (Same library build assumed: ISA-L picks
// SIMD code paths per CPU.) Bzip2 is refused as Unsupported; an out-of-range level as
// InvalidArgument. Errors are sticky. Compression::None returns a pass-through writer.
Result<std::unique_ptr<Writer>> make_compressor(Compression c, Writer& next,
                                                const CompressorOptions& options = {});

// Decompresses `inner`. A gzip stream with several members (`cat a.gz b.gz`) and a zstd stream
// with several frames are read to the end of the last one. Broken input fails with Corruption:
// truncation ("... is truncated"), a CRC or length mismatch, bad headers, or trailing bytes that
// are not another member/frame. Errors are sticky.
Result<std::unique_ptr<Reader>> make_decompressor(Compression c, std::unique_ptr<Reader> inner);

// Whole-buffer zstd for documents held in memory (shared build-cache plans): one frame that
// records its content size and a checksum, at `level` (1..19), single-threaded, so the bytes
// depend on the input and level only.
Result<std::string> zstd_compress(std::string_view data, int level = 3);
// Every frame of `data` (zstd or skippable) decompressed into one string. When every frame
// records its content size the result is allocated once and written once; otherwise it is
// streamed into a growing string. Corruption when a frame is damaged or truncated, when bytes
// follow the last frame, or when the result would pass `limit` bytes; Unsupported for a frame
// whose window passes 128 MiB.
Result<std::string> zstd_decompress(std::string_view data, size_t limit);

// Peeks at the first bytes of `inner` and decompresses gzip or zstd, or passes the bytes through
// (the peeked bytes included). Bzip2 is refused as Unsupported.
Result<std::unique_ptr<Reader>> make_auto_decompressor(std::unique_ptr<Reader> inner);

// Moves the work of `next` (owned) onto a worker thread: write() copies the data into a bounded
// queue of buffers and returns; errors from the worker surface on a later write() or close().
// Used to run compression and hashing on the second core while the caller produces a tar.
// Small writes are coalesced into buffer_size chunks; at most queue_buffers chunks are in flight
// (the producer blocks beyond that). close() drains the queue, then closes `next` on the calling
// thread. Destroying it without close() stops the worker, drops queued data and leaves `next`
// unclosed. Use the writer from one thread; `next` runs on the worker only.
// A Writer that lends its own buffer to a producer that reads data from elsewhere (a file, a tar
// generator), saving the copy from the producer's buffer into the writer's.
class FillableWriter : public Writer {
 public:
  // Space to fill: non-empty, valid until the next call on this writer.
  virtual Result<std::span<std::byte>> prepare() = 0;
  // The first `n` bytes of the span prepare() returned are data (n may be 0).
  virtual Status commit(size_t n) = 0;
};

// The threaded writer also lends its queue buffers (prepare/commit), mixable with write().
std::unique_ptr<FillableWriter> make_threaded_writer(std::unique_ptr<Writer> next,
                                                     size_t queue_buffers = 8,
                                                     size_t buffer_size = 1 << 20);

// As make_threaded_writer, with several chains (non-empty), each on its own worker thread: every
// chain gets all the bytes, in order, from the same queue buffers, which are recycled once every
// chain has written them. Used to hash an uncompressed layer and write it to disk at the same
// time. The first error of any chain stops them all and surfaces as above; close() closes the
// chains in order on the calling thread, none of them after an error.
std::unique_ptr<FillableWriter> make_threaded_fanout(std::vector<std::unique_ptr<Writer>> sinks,
                                                     size_t queue_buffers = 8,
                                                     size_t buffer_size = 1 << 20);

}  // namespace de::ffi
